// The real berth-model-server as a child process, as the local backend starts it.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../model-server/src/main.ts", import.meta.url));

export interface ModelServerProcess {
  readonly http: number;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGKILL (a crash) or SIGTERM; resolves when the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startModelServerProcess(repository: string, httpPort = 0): Promise<ModelServerProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", MAIN, "--model-repository", repository, "--http-port", String(httpPort), "--grpc-port", "0", "--metrics-port", "0",
      "--http-address", "127.0.0.1", "--grpc-address", "127.0.0.1", "--metrics-address", "127.0.0.1", "--model-control-mode", "explicit"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const http = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const v = JSON.parse(line) as { event?: string; http?: number };
        if (v.event === "berth-model-server.listening" && typeof v.http === "number") resolve(v.http);
      } catch {
        // not the listening line
      }
    });
    void exited.then(() => reject(new Error(`model server exited before listening: ${stderr}`)));
  });
  return {
    http,
    child,
    stderr: () => stderr,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
