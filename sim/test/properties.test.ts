import fc from "fast-check";
import type { Snapshot } from "@berth/core/decide/types";
import { describe, expect, it } from "vitest";
import { scenarioArb } from "../src/properties/arbitraries.js";
import { checkScenario, describeFailure } from "../src/properties/check.js";
import { coreDecider } from "../src/run/core-decider.js";
import type { DeciderFactory } from "../src/run/world.js";

// The invariants of the issue, checked after every decided event of generated scenarios
// (clusters, workloads, node losses, server crashes, slow and failed loads). A failing case
// prints fast-check's seed and path (replay with BERTH_PROPERTY_SEED / _PATH), the scenario
// as YAML (replay with `npm run sim -- run`), and the last decided events.
// BERTH_PROPERTY_RUNS raises the number of cases for soak runs.
const numRuns = Number(process.env.BERTH_PROPERTY_RUNS ?? 300);
const seed = process.env.BERTH_PROPERTY_SEED === undefined ? undefined : Number(process.env.BERTH_PROPERTY_SEED);
const path = process.env.BERTH_PROPERTY_PATH;

describe("simulation invariants", () => {
  it("hold at every event: no over-commit, groups never mixed, no lease lost or double-placed, autoscaler in bounds; every lease ends Ready or Failed with a reason", () => {
    fc.assert(
      fc.property(scenarioArb(), (scenario) => {
        const outcome = checkScenario(scenario);
        if (outcome.violations.length > 0) throw new Error(describeFailure(outcome));
      }),
      { numRuns, seed, path, endOnFailure: true },
    );
  }, 600_000);

  it("are caught when decide misbehaves (the checker can fail)", () => {
    // A deliberately wrong decide: after every event it books the first node's first GPU twice over.
    const overBooking: DeciderFactory = (scenario, decideSeed) => {
      const real = coreDecider(scenario, decideSeed);
      return {
        initial: real.initial,
        step: (snapshot, event) => {
          const r = real.step(snapshot, event);
          const [name] = Object.keys(r.snapshot.nodes);
          if (name === undefined || r.snapshot.nodes[name].use.gpus.length === 0) return r;
          const record = r.snapshot.nodes[name];
          const broken: Snapshot = { ...r.snapshot, nodes: { ...r.snapshot.nodes, [name]: { ...record, use: { ...record.use, gpus: record.use.gpus.map((g, i) => (i === 0 ? { ...g, milli: 2000 } : g)) } } } };
          return { ...r, snapshot: broken };
        },
      };
    };
    const scenario = fc.sample(scenarioArb().filter((s) => s.cluster.nodeGroups[0].gpus !== undefined), { numRuns: 1, seed: 7 })[0];
    const outcome = checkScenario(scenario, { decider: overBooking, traceLimit: 10 });
    expect(outcome.violations.map((v) => v.invariant)).toContain("NoOverCommit");
    const text = describeFailure(outcome);
    expect(text).toContain(`scenario seed ${scenario.seed}`);
    expect(text).toContain("last 10 decided events");
    expect(text).toContain("npm run sim -- run");
  });

  it("catch a lease that decide drops", () => {
    const losing: DeciderFactory = (scenario, decideSeed) => {
      const real = coreDecider(scenario, decideSeed);
      return {
        initial: real.initial,
        step: (snapshot, event) => {
          const r = real.step(snapshot, event);
          if (event._tag !== "Tick") return r;
          const live = Object.values(r.snapshot.leases).find((l) => l.phase === "Ready");
          if (!live) return r;
          const { [live.id]: _gone, ...leases } = r.snapshot.leases;
          return { ...r, snapshot: { ...r.snapshot, leases } };
        },
      };
    };
    const scenario = fc.sample(scenarioArb().filter((s) => s.cluster.nodeGroups.some((g) => g.gpus !== undefined) && s.workload.kind === "synthetic" && s.workload.leases > 5), { numRuns: 1, seed: 11 })[0];
    const outcome = checkScenario(scenario, { decider: losing });
    expect(outcome.violations.map((v) => v.invariant)).toContain("NoLeaseLost");
  });
});
