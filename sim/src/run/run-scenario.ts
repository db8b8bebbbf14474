import { performance } from "node:perf_hooks";
import type { Scenario } from "../scenario/schema.js";
import type { MeasuredData } from "../workload/distribution.js";
import { coreDecider } from "./core-decider.js";
import type { Step } from "./control-loop.js";
import { MetricsCollector, percentiles } from "./metrics.js";
import type { RunResult } from "./result.js";
import { World, type DeciderFactory } from "./world.js";
import { Priority } from "../engine/index.js";

export interface RunOptions {
  /** decide and its initial snapshot; the core's by default. */
  readonly decider?: DeciderFactory;
  /** Measured distributions' data (see `loadMeasuredData`). */
  readonly measured?: MeasuredData;
  /** How many decided events the trace keeps (the last ones). */
  readonly traceLimit?: number;
  /** Extra observers of every decided event (invariant checks). */
  readonly observers?: readonly ((s: Step, world: World) => void)[];
}

/** Runs one scenario to its end and measures it. Deterministic for the scenario's seed. */
export const runScenario = (scenario: Scenario, options: RunOptions = {}): RunResult => {
  const started = performance.now();
  const metrics = new MetricsCollector(options.traceLimit ?? 500);
  const world = new World(scenario, options.decider ?? coreDecider, {
    measured: options.measured,
    observers: [metrics.observe, ...(options.observers ?? [])],
  });
  const sampleAt = () => {
    metrics.sample(world);
    if (world.sim.now + scenario.sampleEvery <= scenario.duration) world.sim.after(scenario.sampleEvery, sampleAt, Priority.late + 1);
  };
  world.sim.at(0, sampleAt, Priority.late + 1);
  world.run();
  if (metrics.samples.at(-1)?.t !== scenario.duration / 1000) metrics.sample(world);
  const wallMs = performance.now() - started;

  const snap = world.loop.snapshot;
  const phasesAtEnd: Record<string, number> = {};
  let waitingAtEnd = 0;
  for (const l of Object.values(snap.leases)) {
    phasesAtEnd[l.phase] = (phasesAtEnd[l.phase] ?? 0) + 1;
    if (l.phase === "Pending" || l.phase === "Placing" || l.phase === "Loading") waitingAtEnd++;
  }
  const events = world.sim.eventsProcessed;
  return {
    scenario: scenario.name,
    description: scenario.description,
    seed: scenario.seed,
    policies: scenario.policies,
    duration: scenario.duration,
    wallMs,
    events,
    decideCalls: world.loop.decideCalls,
    eventsPerSecond: wallMs > 0 ? events / (wallMs / 1000) : 0,
    leases: {
      requested: world.requestedAt.size,
      ready: metrics.everReady.size,
      failed: metrics.failed,
      released: metrics.released,
      waitingAtEnd,
      failuresByCode: metrics.failuresByCode,
      phasesAtEnd,
    },
    timeToReady: percentiles(metrics.timeToReady),
    requests: { ...world.requestCounts },
    decisions: { total: metrics.decisions, byKindOutcome: metrics.decisionsByKindOutcome, evictions: metrics.evictions },
    rejections: metrics.rejections,
    backend: { ...world.backend.counters },
    samples: metrics.samples,
    gpuMemoryGiBHours: metrics.gpuMemoryGiBHours(world),
    trace: metrics.trace.toArray(),
    traceDropped: metrics.trace.droppedCount,
    lastDecisions: metrics.lastDecisions.toArray(),
  };
};
