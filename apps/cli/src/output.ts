// Every way the CLI prints resources, in one place: aligned tables (table, wide), JSON and
// YAML documents, and --porcelain's stable tab-separated lines.
import { stringify as toYaml } from "yaml";

export const FORMATS = ["table", "wide", "json", "yaml"] as const;
export type Format = (typeof FORMATS)[number];

export interface OutputOptions {
  readonly format: Format;
  /** Tab-separated raw fields, no header: wins over `format`. */
  readonly porcelain: boolean;
}

export interface Column<R> {
  readonly header: string;
  /** Shown only with -o wide. */
  readonly wide?: boolean;
  readonly value: (row: R) => string;
}

/** How one kind of resource prints. */
export interface View<R> {
  /** Plural noun for "No leases found." */
  readonly plural: string;
  readonly columns: readonly Column<R>[];
  /** The JSON/YAML object: stable camelCase keys. */
  readonly json: (row: R) => unknown;
  /** --porcelain fields, in a fixed order that only ever grows at the end. */
  readonly porcelain: (row: R) => readonly string[];
}

/** Columns padded to the widest cell, three spaces apart (kubectl's look); no trailing spaces. */
export const formatTable = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join("   ").trimEnd();
  return [headers, ...rows].map(line).join("\n") + "\n";
};

/** A porcelain line: fields joined by tabs; empty fields print as "-" and tabs/newlines inside fields become spaces. */
export const porcelainLine = (fields: readonly string[]): string =>
  fields.map((f) => (f === "" ? "-" : f.replace(/[\t\n\r]/g, " "))).join("\t") + "\n";

export const toJson = (value: unknown): string => JSON.stringify(value, null, 2) + "\n";

export const yamlOf = (value: unknown): string => toYaml(value, { lineWidth: 0 });

/** A list verb's output; an empty table says so on stderr (stdout stays parseable). */
export const renderList = <R>(rows: readonly R[], view: View<R>, options: OutputOptions): { stdout: string; stderr: string } => {
  if (options.porcelain) return { stdout: rows.map((r) => porcelainLine(view.porcelain(r))).join(""), stderr: "" };
  switch (options.format) {
    case "json":
      return { stdout: toJson(rows.map(view.json)), stderr: "" };
    case "yaml":
      return { stdout: yamlOf(rows.map(view.json)), stderr: "" };
    case "table":
    case "wide": {
      if (rows.length === 0) return { stdout: "", stderr: `No ${view.plural} found.\n` };
      const columns = view.columns.filter((c) => options.format === "wide" || c.wide !== true);
      return { stdout: formatTable(columns.map((c) => c.header), rows.map((r) => columns.map((c) => c.value(r)))), stderr: "" };
    }
  }
};

/** One resource: a one-row table, one JSON/YAML object (not an array), or one porcelain line. */
export const renderOne = <R>(row: R, view: View<R>, options: OutputOptions): string => {
  if (options.porcelain) return porcelainLine(view.porcelain(row));
  switch (options.format) {
    case "json":
      return toJson(view.json(row));
    case "yaml":
      return yamlOf(view.json(row));
    case "table":
    case "wide":
      return renderList([row], view, options).stdout;
  }
};

// ---- values as people read them ----

/** A coarse span, kubectl style: 45s, 5m, 3h20m, 2d. */
export const humanSpan = (ms: number): string => {
  const abs = Math.max(0, ms);
  if (abs < 120_000) return `${Math.floor(abs / 1000)}s`;
  if (abs < 10 * 3_600_000) {
    const h = Math.floor(abs / 3_600_000);
    const m = Math.floor((abs % 3_600_000) / 60_000);
    return h === 0 ? `${m}m` : m === 0 ? `${h}h` : `${h}h${m}m`;
  }
  if (abs < 2 * 86_400_000) return `${Math.floor(abs / 3_600_000)}h`;
  return `${Math.floor(abs / 86_400_000)}d`;
};

/** Time since `at` ("-" when unknown). */
export const age = (at: number | undefined, now: number): string => (at === undefined ? "-" : humanSpan(now - at));

/** Time until `at`: "25m", "expired", or "-". */
export const until = (at: number | undefined, now: number): string =>
  at === undefined ? "-" : at <= now ? "expired" : humanSpan(at - now);

export const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

const BYTE_UNITS: readonly (readonly [string, number])[] = [["Ti", 2 ** 40], ["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]];

/** 4294967296 -> "4Gi", 1610612736 -> "1.5Gi" (binary units, one decimal at most). */
export const humanBytes = (bytes: number): string => {
  for (const [unit, size] of BYTE_UNITS) {
    if (bytes >= size) {
      const value = Math.round((bytes / size) * 10) / 10;
      return `${value}${unit}`;
    }
  }
  return `${bytes}`;
};

export const orDash = (text: string): string => (text === "" ? "-" : text);
