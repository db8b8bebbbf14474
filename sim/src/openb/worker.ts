// A worker thread of the openb experiment: receives cells, answers results, one at a time.
import { parentPort } from "node:worker_threads";
import { runCellTask, type CellTask } from "./experiment.js";

const port = parentPort;
if (port === null) throw new Error("sim/src/openb/worker.ts must run as a worker thread");
port.on("message", (task: CellTask) => {
  try {
    port.postMessage({ ok: true, result: runCellTask(task) });
  } catch (e) {
    port.postMessage({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
