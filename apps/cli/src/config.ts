// Targets: named berthd endpoints (like kubectl contexts), kept in ~/.config/berth/config.yaml
// or wherever BERTH_CONFIG points.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import type { Io } from "./io.js";
import { CliError, ExitCode } from "./exit.js";

export interface TargetTls {
  /** Paths to PEM files. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface Target {
  readonly name: string;
  readonly address: string;
  readonly token?: string;
  /** Present: TLS (with the system's roots when it names no CA). */
  readonly tls?: TargetTls;
}

export interface Config {
  readonly current?: string;
  readonly targets: readonly Target[];
  /** Other top-level keys found in the file, written back untouched. */
  readonly rest?: Readonly<Record<string, unknown>>;
}

export const configPath = (io: Io): string =>
  io.env.BERTH_CONFIG ?? join(io.env.XDG_CONFIG_HOME ?? join(io.homedir, ".config"), "berth", "config.yaml");

const bad = (path: string, why: string): CliError =>
  new CliError({ exitCode: ExitCode.Failure, message: `cannot read the berth config ${path}: ${why}`, details: ["fix or remove the file; `berth target add` writes it"] });

const readTarget = (value: unknown, index: number, path: string): Target => {
  if (typeof value !== "object" || value === null) throw bad(path, `targets[${index}] is not a mapping`);
  const t = value as Record<string, unknown>;
  if (typeof t.name !== "string" || typeof t.address !== "string") throw bad(path, `targets[${index}] needs a name and an address`);
  const tls = t.tls;
  const tlsOut = tls === undefined || tls === null ? undefined : typeof tls === "object" ? (tls as TargetTls) : tls === true ? {} : undefined;
  return {
    name: t.name,
    address: t.address,
    ...(typeof t.token === "string" ? { token: t.token } : {}),
    ...(tlsOut === undefined ? {} : { tls: tlsOut }),
  };
};

export const loadConfig = (io: Io): Config => {
  const path = configPath(io);
  if (!existsSync(path)) return { targets: [] };
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw bad(path, error instanceof Error ? error.message : String(error));
  }
  if (doc === null || doc === undefined) return { targets: [] };
  if (typeof doc !== "object") throw bad(path, "it is not a YAML mapping");
  const { current, targets, ...rest } = doc as { current?: unknown; targets?: unknown };
  if (targets !== undefined && targets !== null && !Array.isArray(targets)) throw bad(path, "targets is not a list");
  return {
    ...(typeof current === "string" ? { current } : {}),
    targets: ((targets ?? []) as unknown[]).map((t, i) => readTarget(t, i, path)),
    rest,
  };
};

/**
 * Writes the config readable by its owner only (it may hold tokens). Keys the CLI does not
 * own survive: BERTH_CONFIG may point at a file other tools read too.
 */
export const saveConfig = (io: Io, config: Config): string => {
  const path = configPath(io);
  mkdirSync(dirname(path), { recursive: true });
  const { rest, current, targets } = config;
  writeFileSync(path, stringify({ ...rest, ...(current === undefined ? {} : { current }), targets }), { mode: 0o600 });
  return path;
};
