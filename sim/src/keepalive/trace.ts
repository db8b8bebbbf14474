// The Alibaba GenAI serving trace (cluster-trace-v2026-GenAI) for the keep-alive experiment:
// requests with their base model and execution time, and the measured base-model load
// latencies. Parsing is separate from reading files so tests can parse text they hold.
import { readFile } from "node:fs/promises";
import type { DurationMs, EpochMs } from "@berth/core/units";

export interface GenaiRequest {
  /** Arrival, ms since the Unix epoch (the trace's gmt_create, read as UTC). */
  readonly at: EpochMs;
  /** Index into `GenaiTrace.models`. */
  readonly model: number;
  readonly exec: DurationMs;
}

export interface GenaiTrace {
  /** Base model ids (`checkpoint_model_version_id`), in order of first appearance. */
  readonly models: readonly string[];
  /** Requests in arrival order (stable for equal times). */
  readonly requests: readonly GenaiRequest[];
  /** Data rows in the file. */
  readonly rows: number;
  /** Rows without a base model (the trace's never-served PENDING requests): not replayed. */
  readonly unattributed: number;
}

export class GenaiTraceError extends Error {
  override readonly name = "GenaiTraceError";
}

const table = (text: string, source: string, required: readonly string[]) => {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length === 0) throw new GenaiTraceError(`${source}: empty file`);
  const header = new Map(lines[0].split(",").map((h, i) => [h.trim(), i] as const));
  const missing = required.filter((c) => !header.has(c));
  if (missing.length > 0) throw new GenaiTraceError(`${source}: missing column(s) ${missing.join(", ")}`);
  return { col: (c: string) => header.get(c)!, rows: lines.slice(1).map((l) => l.split(",")) };
};

const TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;

export const parseRequestTrace = (text: string, source = "request trace"): GenaiTrace => {
  const { col, rows } = table(text, source, ["gmt_create", "exec_time_seconds", "checkpoint_model_version_id"]);
  const index = new Map<string, number>();
  const models: string[] = [];
  const requests: GenaiRequest[] = [];
  let unattributed = 0;
  rows.forEach((r, i) => {
    const stamp = (r[col("gmt_create")] ?? "").trim();
    const m = TIME.exec(stamp);
    const at = m ? Date.parse(`${m[1]}T${m[2]}Z`) : NaN;
    if (!Number.isFinite(at)) throw new GenaiTraceError(`${source}:${i + 2}: bad gmt_create ${JSON.stringify(stamp)}`);
    const raw = (r[col("exec_time_seconds")] ?? "").trim();
    const seconds = raw === "" ? 0 : Number(raw);
    if (!(seconds >= 0)) throw new GenaiTraceError(`${source}:${i + 2}: bad exec_time_seconds ${JSON.stringify(raw)}`);
    const id = (r[col("checkpoint_model_version_id")] ?? "").trim();
    if (id === "") {
      unattributed++;
      return;
    }
    let model = index.get(id);
    if (model === undefined) {
      model = models.length;
      index.set(id, model);
      models.push(id);
    }
    requests.push({ at, model, exec: seconds * 1000 });
  });
  // The published file is already in time order; sort (stably) in case a copy is not.
  const ordered = requests.map((r, i) => [r, i] as const).sort((a, b) => a[0].at - b[0].at || a[1] - b[1]).map(([r]) => r);
  return { models, requests: ordered, rows: rows.length, unattributed };
};

/** Measured base-model load times, in ms. */
export const parseLoadLatencies = (text: string, source = "load latencies"): number[] => {
  const { col, rows } = table(text, source, ["value"]);
  return rows.map((r, i) => {
    const v = Number((r[col("value")] ?? "").trim());
    if (!(v >= 0) || !Number.isFinite(v)) throw new GenaiTraceError(`${source}:${i + 2}: bad load latency ${JSON.stringify(r[col("value")])}`);
    return v;
  });
};

export const loadRequestTrace = async (file: string): Promise<GenaiTrace> => parseRequestTrace(await readFile(file, "utf8"), file);
export const loadLoadLatencies = async (file: string): Promise<number[]> => parseLoadLatencies(await readFile(file, "utf8"), file);
