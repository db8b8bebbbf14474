// Runs the experiment's cells on worker threads (the CI machine has 2 cores), slow policies
// first so the workers finish together. Workers load TypeScript through tsx, as the CLI does.
import { Worker } from "node:worker_threads";
import { runCellTask, type CellResult, type CellTask } from "./experiment.js";

/**
 * A worker that loads worker.ts: Node 20 checks a worker's file extension before any loader
 * runs, so the worker starts from a tiny script that registers tsx and then imports the .ts.
 */
const startWorker = (): Worker => {
  const api = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./worker.ts", import.meta.url).href;
  return new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
};

type Reply = { ok: true; result: CellResult } | { ok: false; error: string };

/** Rough relative cost of a policy's cell, to schedule the slow ones first. */
const COST: Readonly<Record<string, number>> = { fgd: 10, dotprod: 3, random: 2 };

export const runCells = async (tasks: readonly CellTask[], workers: number): Promise<CellResult[]> => {
  if (workers <= 1 || tasks.length <= 1) return tasks.map(runCellTask);
  const order = tasks.map((_, i) => i).sort((a, b) => (COST[tasks[b].policy] ?? 1) - (COST[tasks[a].policy] ?? 1));
  const results = new Array<CellResult>(tasks.length);
  let cursor = 0;
  const drain = () =>
    new Promise<void>((resolve, reject) => {
      const worker = startWorker();
      let mine = -1;
      const claim = () => {
        if (cursor >= order.length) {
          void worker.terminate().then(() => resolve(), reject);
          return;
        }
        mine = order[cursor++];
        worker.postMessage(tasks[mine]);
      };
      worker.on("message", (reply: Reply) => {
        if (!reply.ok) {
          void worker.terminate();
          reject(new Error(`${tasks[mine].policy} seed ${tasks[mine].seed}: ${reply.error}`));
          return;
        }
        results[mine] = reply.result;
        claim();
      });
      worker.on("error", reject);
      claim();
    });
  await Promise.all(Array.from({ length: Math.min(workers, tasks.length) }, drain));
  return results;
};
