// A real berthd as a child process (apps/control-plane/src/main.ts), on the ports it is given
// or free ones, learning its addresses from its JSON log lines on stdout.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface BerthdProcess {
  readonly child: ChildProcess;
  /** gRPC host:port. */
  readonly address: string;
  /** Everything it wrote, for failure messages. */
  readonly output: () => string;
  /** SIGTERM (berthd stops its servers), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: its servers (detached) keep running, for a next berthd to adopt. */
  kill(): Promise<void>;
}

export async function startBerthdProcess(options: { stateDir: string; listen?: string; args?: readonly string[]; timeoutMs?: number }): Promise<BerthdProcess> {
  const args = ["--import", "tsx", join(ROOT, "apps/control-plane/src/main.ts"), "--listen", options.listen ?? "127.0.0.1:0", "--http", "127.0.0.1:0", "--state-dir", options.stateDir, ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BERTH_LOG_LEVEL: "info" } });
  let text = "";
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berthd did not listen within ${options.timeoutMs ?? 30_000} ms:\n${text}`)), options.timeoutMs ?? 30_000);
    child.once("exit", (code) => reject(new Error(`berthd exited (${code}) before listening:\n${text}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      text += `${line}\n`;
      try {
        const entry = JSON.parse(line) as { message?: unknown; annotations?: { address?: unknown } };
        if (entry.message === "gRPC API listening" && typeof entry.annotations?.address === "string") {
          clearTimeout(timer);
          resolve(entry.annotations.address);
        }
      } catch {
        // not a log line
      }
    });
  });
  const signal = async (name: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(name);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, address, output: () => text, stop: (graceMs = 15_000) => signal("SIGTERM", graceMs), kill: () => signal("SIGKILL", 0) };
}
