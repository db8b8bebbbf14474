// berthd as a real child process (what an operator runs), for the tests and benchmarks that look
// at it from the outside: an independent client, a real Prometheus, kill -9. It runs on
// `node --import tsx src/main.ts` directly (not through npx or the tsx CLI, which would put
// wrapper processes in between): the pid we hold is berthd's own, so kill -9 and /proc/PID/status
// reach berthd itself. Ports are 127.0.0.1:0; the addresses come from berthd's JSON log lines.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createBerthClient, type BerthClient } from "@berth/api/berth";

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../../../..");
export const BERTHD_MAIN = join(REPO_ROOT, "apps/control-plane/src/main.ts");

export interface BerthdProcess {
  readonly pid: number;
  /** host:port of the gRPC API. */
  readonly grpc: string;
  /** http://host:port of /healthz, /readyz, /metrics. */
  readonly http: string;
  readonly stateDir: string;
  /** Resolves when the process has exited (with its code or signal). */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  /** Everything berthd wrote on stdout and stderr so far. */
  readonly output: () => string;
  /** A client on the gRPC API; closed by stop() and kill(). */
  client(options?: { readonly callTimeoutMs?: number }): BerthClient;
  /** SIGTERM (a clean shutdown), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9: no finalizer runs, nothing is flushed. */
  kill(): Promise<void>;
  /** VmRSS of the process in bytes (Linux). */
  rssBytes(): number;
}

export interface SpawnOptions {
  /** Reuse a state directory (restart); a fresh temporary one otherwise. */
  readonly stateDir?: string;
  /** berthd's configuration file (written as JSON, which is YAML); defaults: sim backend, fast. */
  readonly config?: Record<string, unknown>;
  readonly env?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
  /** Extra arguments for node itself (`--cpu-prof`, `--max-old-space-size=...`). */
  readonly nodeArgs?: readonly string[];
  /** A built JavaScript berthd (a bundle, see @berth/backends/process/bundle) run instead of main.ts under tsx. */
  readonly entry?: string;
}

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `berth-${prefix}-`));

/** Every child still running when the test process leaves is killed: no berthd outlives its test. */
const live = new Set<ChildProcess>();
const killAll = () => {
  for (const child of live) child.kill("SIGKILL");
};
process.once("exit", killAll);
// A benchmark stopped with Ctrl-C or a test worker terminated: "exit" does not run on a signal.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

export const SIM_CONFIG = {
  backend: { kind: "sim", sim: { startup: "20ms", load: "20ms" } },
  nodes: [{ name: "n1", gpus: [{ model: "A10", memory: "64Gi" }, { model: "A10", memory: "64Gi" }] }],
};

interface LogLine {
  readonly message?: string;
  readonly annotations?: { readonly address?: string };
}

export async function spawnBerthd(options: SpawnOptions = {}): Promise<BerthdProcess> {
  const stateDir = options.stateDir ?? tempDir("berthd");
  mkdirSync(stateDir, { recursive: true });
  const configFile = join(stateDir, "berthd-test.yaml");
  writeFileSync(configFile, JSON.stringify(options.config ?? SIM_CONFIG, null, 2));
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), ...(options.entry !== undefined ? [options.entry] : ["--import", "tsx", BERTHD_MAIN]), "--config", configFile, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--state-dir", stateDir],
    { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => {
      live.delete(child);
      done({ code, signal });
    }),
  );
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const addresses: { grpc?: string; http?: string } = {};
  const started = new Promise<void>((ready, fail) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        return;
      }
      if (parsed.message === "gRPC API listening") addresses.grpc = parsed.annotations?.address;
      // The HTTP layer starts last: when it listens, berthd has recovered, reconciled and serves.
      if (parsed.message === "health and metrics listening") {
        addresses.http = parsed.annotations?.address;
        ready();
      }
    });
    void exited.then(({ code, signal }) => fail(new Error(`berthd exited during start-up (code ${code}, signal ${signal}):\n${output}`)));
  });
  // Generous: loading berthd through tsx takes seconds, more on a busy 2-core CI machine.
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      started,
      new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`berthd did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs))),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const clients: BerthClient[] = [];
  const closeClients = () => {
    for (const c of clients.splice(0)) c.close();
  };
  const pid = child.pid!;
  return {
    pid,
    grpc: addresses.grpc!,
    http: addresses.http!,
    stateDir,
    exited,
    output: () => output,
    client: (clientOptions = {}) => {
      const c = createBerthClient(addresses.grpc!, clientOptions);
      clients.push(c);
      return c;
    },
    stop: async (graceMs = 5000) => {
      closeClients();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      closeClients();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    rssBytes: () => {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
      return Number(match[1]) * 1024;
    },
  };
}

/** Polls until `find` returns something other than undefined. */
export async function eventually<T>(what: string, find: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const found = await find();
      if (found !== undefined) return found;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError === undefined ? "" : ` (last error: ${String(lastError)})`}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}
