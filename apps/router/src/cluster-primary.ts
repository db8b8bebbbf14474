// `--workers N`: the primary process of a router served by N node:cluster workers. Each worker
// is a whole router (main.ts) on the same ports (the cluster shares the listening sockets), and
// follows the same route file; replica load counts are per worker, and activity adds up, since
// each worker reports the requests it routed. The primary prints the listening line once every
// worker listens, passes SIGINT/SIGTERM on, and exits 0 when all workers did.
import cluster, { type Worker } from "node:cluster";
import { formatListeningLine, type RouterPorts } from "./listening-line.js";

/** What a worker sends the primary once it listens. */
export interface WorkerListening {
  readonly event: "berth-router.worker-listening";
  readonly ports: RouterPorts;
}

export const isWorkerListening = (m: unknown): m is WorkerListening =>
  typeof m === "object" && m !== null && (m as { event?: unknown }).event === "berth-router.worker-listening";

export function runPrimary(workers: number, log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    let listening = 0;
    let stopping = false;
    let failed = false;
    const live = new Set<Worker>();
    const fork = (): void => {
      const worker = cluster.fork();
      live.add(worker);
      let ready = false;
      worker.on("message", (m: unknown) => {
        if (!isWorkerListening(m) || ready) return;
        ready = true;
        // Every worker has the same ports: the cluster shares one socket per address.
        if (++listening === workers) process.stdout.write(`${formatListeningLine(m.ports, process.pid)}\n`);
      });
      worker.once("exit", (code, signal) => {
        live.delete(worker);
        if (code !== 0) failed = true;
        if (!stopping) {
          log(`worker ${worker.process.pid} exited (${signal ?? code})${ready ? "; starting another" : ""}`);
          // One that never listened would fail again the same way: stop them all.
          if (ready) fork();
          else stop("SIGTERM");
        }
        if (live.size === 0 && stopping) resolve(failed ? 1 : 0);
      });
    };
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log(`received ${signal}, stopping ${live.size} worker(s)`);
      for (const w of live) w.process.kill(signal);
      if (live.size === 0) resolve(failed ? 1 : 0);
    };
    for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => stop(s));
    for (let i = 0; i < workers; i++) fork();
  });
}
