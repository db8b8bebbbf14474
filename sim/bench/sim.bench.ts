// `npm run bench:sim`: the simulator's speed. Prints three figures, the headline last:
//   1. the raw engine: events scheduled and popped per second with trivial handlers (goal >= 1,000,000/s);
//   2. a decide-driven scenario: simulation events and decide calls per second;
//   3. the full openb packing experiment (7 policies x 10 seeds on `default`) wall time (goal < 60 s).
// BERTH_BENCH_SKIP_OPENB=1 leaves out the third (it takes most of the time).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Either } from "effect";
import { Simulation } from "../src/engine/index.js";
import { parseOpenbArgs, runOpenbExperiment } from "../src/openb/command.js";
import { runScenario } from "../src/run/run-scenario.js";
import { parseScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";
import { hasSharedData } from "../src/workload/shared-data.js";

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

/** Events per second of the bare engine: `processes` handlers that each reschedule themselves. */
const rawEngine = (total: number, processes: number): number => {
  const sim = new Simulation();
  let left = total;
  const step = (s: Simulation): void => {
    if (--left > processes) s.after(1 + (left & 7), step);
  };
  for (let i = 0; i < processes; i++) sim.at(i, step);
  const t0 = performance.now();
  sim.run();
  return sim.eventsProcessed / ((performance.now() - t0) / 1000);
};

const scenarioFile = (name: string): Scenario => {
  const parsed = parseScenario(readFileSync(resolve(import.meta.dirname, "../scenarios", name), "utf8"));
  if (Either.isLeft(parsed)) throw new Error(`${name}: ${JSON.stringify(parsed.left)}`);
  return parsed.right;
};

/** The quick demo, scaled: ten times the nodes and leases over two hours. */
const scaledDemo = (): Scenario => {
  const s = scenarioFile("quick-demo.yaml");
  if (s.workload.kind !== "synthetic") throw new Error("quick-demo is synthetic");
  return {
    ...s,
    name: "quick-demo-x10",
    duration: 2 * 3_600_000,
    cluster: { nodeGroups: s.cluster.nodeGroups.map((g) => ({ ...g, count: g.count * 10 })) as unknown as Scenario["cluster"]["nodeGroups"] },
    workload: { ...s.workload, leases: 400, interarrival: { kind: "exponential", mean: 15_000 } },
    failures: { ...s.failures, nodeLoss: [{ at: 30 * 60_000, node: "a10-1" }, { at: 60 * 60_000, node: "a10-17", recoverAfter: 10 * 60_000 }] },
  };
};

const main = async (): Promise<void> => {
  rawEngine(200_000, 1000); // warm up the JIT
  const raw = Math.max(rawEngine(5_000_000, 1000), rawEngine(5_000_000, 1000));
  console.log(`engine: ${fmt(raw)} events/s (5,000,000 events, 1,000 pending; goal >= 1,000,000/s)`);

  for (let i = 0; i < 3; i++) runScenario(scenarioFile("quick-demo.yaml")); // warm up decide and the policies
  for (const s of [scenarioFile("quick-demo.yaml"), scaledDemo()]) {
    // best of three: the machine is shared, the fastest run is the least disturbed
    const r = [runScenario(s), runScenario(s), runScenario(s)].sort((a, b) => a.wallMs - b.wallMs)[0];
    console.log(`scenario ${s.name}: ${fmt(r.events)} events, ${fmt(r.decideCalls)} decide calls in ${r.wallMs.toFixed(0)} ms = ${fmt(r.eventsPerSecond)} events/s, ${fmt(r.decideCalls / (r.wallMs / 1000))} decide calls/s (${r.leases.requested} leases, ${r.leases.ready} Ready)`);
  }

  let openb = "openb experiment not run (BERTH_BENCH_SKIP_OPENB)";
  if (!process.env.BERTH_BENCH_SKIP_OPENB) {
    if (!hasSharedData("openb/openb_pod_list_default.csv")) {
      openb = "openb experiment not available (no ../shared/data/openb)";
    } else {
      const args = parseOpenbArgs([]);
      const t0 = performance.now();
      const summary = await runOpenbExperiment(args);
      const seconds = (performance.now() - t0) / 1000;
      for (const p of summary.policies) console.log(`  openb ${p.policy.padEnd(14)} allocation at 130% arrived: ${p.at130.toFixed(2)}%`);
      openb = `openb ${args.policies.length} policies x ${args.seeds.length} seeds on default in ${seconds.toFixed(1)} s on ${args.workers} workers (goal < 60 s)`;
    }
  }
  console.log(`headline: engine ${fmt(raw)} events/s (goal >= 1,000,000/s); ${openb}`);
};

await main();
