import { stringify } from "yaml";
import { MetricsCollector } from "../run/metrics.js";
import { coreDecider } from "../run/core-decider.js";
import type { TraceEntry } from "../run/result.js";
import { World, type DeciderFactory } from "../run/world.js";
import type { Scenario } from "../scenario/schema.js";
import { InvariantChecker, type Violation } from "./invariants.js";

export interface CheckOptions {
  /** Simulated time after the scenario's end to let loads and restarts finish (no new arrivals). */
  readonly settle?: number;
  /** How long a lease may still be loading or starting at the very end without counting as stuck. */
  readonly grace?: number;
  readonly traceLimit?: number;
  readonly decider?: DeciderFactory;
}

export interface CheckOutcome {
  readonly scenario: Scenario;
  readonly violations: readonly Violation[];
  readonly trace: readonly TraceEntry[];
  readonly events: number;
  readonly leases: number;
}

/** Runs a scenario with every invariant checked after every decided event, then the liveness one at the end. */
export const checkScenario = (scenario: Scenario, options: CheckOptions = {}): CheckOutcome => {
  const checker = new InvariantChecker();
  const metrics = new MetricsCollector(options.traceLimit ?? 60);
  const world = new World(scenario, options.decider ?? coreDecider, { observers: [metrics.observe, checker.observe] });
  const lastRecovery = Math.max(0, ...scenario.failures.nodeLoss.map((l) => l.at + (l.recoverAfter ?? 0)));
  const end = Math.max(scenario.duration, lastRecovery) + (options.settle ?? 3 * 3_600_000);
  try {
    world.run(end);
    checker.finish(world, options.grace ?? 30 * 60_000);
  } catch (e) {
    checker.violations.push({ invariant: "NoLeaseLost", at: world.sim.now, detail: `the run threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
  }
  return { scenario, violations: checker.violations, trace: metrics.trace.toArray(), events: world.sim.eventsProcessed, leases: world.requestedAt.size };
};

/** What a failing property prints: the violations, the scenario to replay (`npm run sim -- run`), the last decisions. */
export const describeFailure = (o: CheckOutcome): string => {
  const lines = [
    `${o.violations.length} invariant violation(s); scenario seed ${o.scenario.seed}; ${o.events} events, ${o.leases} leases`,
    ...o.violations.map((v) => `  [${v.invariant}] at ${(v.at / 1000).toFixed(1)} s: ${v.detail}`),
    "",
    "replay: save the scenario below as failing.yaml and run `npm run sim -- run failing.yaml`",
    stringify(o.scenario),
    `last ${o.trace.length} decided events:`,
    ...o.trace.map((e) => `  #${e.seq} ${(e.at / 1000).toFixed(1)} s ${e.event}${e.intents.length ? ` => ${e.intents.join("; ")}` : ""}${e.changes.length ? ` [${e.changes.join("; ")}]` : ""}${e.rejections.length ? ` refused: ${e.rejections.join("; ")}` : ""}`),
  ];
  return lines.join("\n");
};
