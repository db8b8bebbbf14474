// The whole serving path as `npm start` runs it (scripts/start.ts: berthd with the process
// backend, the router fed from berthd), as a child process on free ports with its own state
// directory and configuration; plus the ways tests talk to it: the berth.v1 client, the real
// `berth` CLI, KServe v2 HTTP through the router, and the processes it started.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createBerthClient, type BerthClient } from "@berth/api/berth";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface StackOptions {
  /** berthd's configuration (written as its --config file); listen, http and stateDir are the stack's. */
  readonly config?: Record<string, unknown>;
  /** How often the router renews the leases it served. */
  readonly activityMs?: number;
  readonly startTimeoutMs?: number;
}

export interface Stack {
  readonly stateDir: string;
  /** berthd's gRPC address. */
  readonly berthd: string;
  readonly berthdHttp: string;
  /** The router's KServe v2 HTTP base URL. */
  readonly router: string;
  /** The router's KServe v2 gRPC address ("host:port"). */
  readonly routerGrpc: string;
  readonly client: BerthClient;
  /** Runs the real CLI against this berthd. */
  berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** SIGTERM, as Ctrl-C would; resolves with the exit code (SIGKILL after the grace period: null). */
  stop(graceMs?: number): Promise<number | null>;
  output(): string;
}

const spawnStack = (args: string[]): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", join(ROOT, "scripts/start.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-e2e-"));
  const configFile = join(stateDir, "berthd.yaml");
  // JSON is YAML.
  writeFileSync(configFile, JSON.stringify(options.config ?? {}));
  const child = spawnStack([
    "--json",
    "--config", configFile,
    "--state-dir", stateDir,
    "--listen", "127.0.0.1:0",
    "--http", "127.0.0.1:0",
    "--router-http-port", "0",
    "--router-grpc-port", "0",
    "--router-activity-ms", String(options.activityMs ?? 500),
  ]);
  let text = "";
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const starting = new Promise<{ berthd: string; berthdHttp: string; router: { host: string; http: number; grpc: number | null } }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stack did not start within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    void exited.then((code) => reject(new Error(`the stack exited (${code}) before starting:\n${text}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      text += `${line}\n`;
      try {
        const event = JSON.parse(line) as { event?: string };
        if (event.event === "berth.started") {
          clearTimeout(timer);
          resolve(event as never);
        }
      } catch {
        // not the start line
      }
    });
  });
  let started: Awaited<typeof starting>;
  try {
    started = await starting;
  } catch (e) {
    child.kill("SIGKILL");
    await exited;
    rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
  const client = createBerthClient(started.berthd, { callTimeoutMs: 15_000 });
  let stopping: Promise<number | null> | undefined;
  return {
    stateDir,
    berthd: started.berthd,
    berthdHttp: started.berthdHttp,
    router: `http://${started.router.host}:${started.router.http}`,
    routerGrpc: `${started.router.host}:${started.router.grpc ?? 0}`,
    client,
    berth: (...args) => runBerth(started.berthd, args),
    output: () => text,
    stop: (graceMs = 30_000) =>
      (stopping ??= (async () => {
        client.close();
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const code = await exited;
        clearTimeout(timer);
        // Anything it left behind (a failed test's servers) goes too, then the state.
        for (const p of processesUsing(stateDir)) killQuietly(p.pid);
        rmSync(stateDir, { recursive: true, force: true });
        return code;
      })()),
  };
}

export function runBerth(address: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "apps/cli/bin/berth.mjs"), "--address", address, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Processes whose command line mentions `needle` (the model servers and sidecars of one state directory). */
export function processesUsing(needle: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      if (cmdline.includes(needle)) out.push({ pid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function killQuietly(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
