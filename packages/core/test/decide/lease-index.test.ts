import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide, decideOwned, nextWakeUp, ownedCopy, type DecideConfig, type Snapshot } from "../../src/decide/index.js";
import { nextExpiry } from "../../src/lease/clock.js";
import { isTerminal } from "../../src/lease/phase.js";
import { Earliest, LeaseIndex, leaseIndexOf } from "../../src/decide/lease-index.js";
import { registryPolicies } from "../../src/decide/registries.js";
import { anyWorldArb, commandArb, runWorld, testConfig } from "./harness.js";

// decide keeps an index of the leases beside the table (lease-index.ts), carried across
// copies and updated on each write. Whatever it carried, it must answer as a scan would.

const all = () => true;
const view = (index: LeaseIndex, table: Snapshot["leases"]) => [index.expiringWhere(table, all), index.namingOthersWhere(table, all)];
const scanned = (table: Snapshot["leases"]) => [
  Object.keys(table)
    .filter((id) => table[id]!.phase === "Expiring")
    .sort(),
  Object.keys(table)
    .filter((id) => table[id]!.spec.colocation.notWith.length > 0)
    .sort(),
];

/** nextWakeUp as it was before the index: a scan of every lease. */
const wakeUpByScan = (snapshot: Snapshot, config: DecideConfig): number | undefined => {
  let next = nextExpiry(Object.values(snapshot.leases), snapshot.now);
  const consider = (at: number): void => {
    const when = Math.max(at, snapshot.now);
    if (next === undefined || when < next) next = when;
  };
  let autoscaled = false;
  for (const lease of Object.values(snapshot.leases)) {
    if (lease.phase === "Expiring" && lease.warmUntil !== undefined && Number.isFinite(lease.warmUntil)) consider(lease.warmUntil);
    if (isTerminal(lease.phase)) consider(lease.phaseSince + config.retainTerminal);
    if (lease.phase === "Ready" && lease.spec.autoscaling && lease.spec.where.kind === "bespoke") autoscaled = true;
  }
  if (autoscaled) consider(snapshot.lastAutoscaleAt + config.autoscaler.syncPeriod);
  return next;
};

// Short retention, so terminal leases' retention ends count among the wake-ups.
const shortRetention: DecideConfig = { ...testConfig, retainTerminal: 60_000 };

describe("the lease index", () => {
  it("decisions with the carried index equal decisions on a fresh copy, whose index is built by a scan", () => {
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 60 }), (world, commands) => {
        const run = runWorld(world, commands, testConfig);
        const policies = registryPolicies(testConfig);
        for (const step of run.steps) {
          // A JSON copy shares no table object with the run: nothing indexed, so decide scans.
          const fresh = decide(JSON.parse(JSON.stringify(step.before)) as Snapshot, step.event, testConfig, policies);
          expect(JSON.stringify(fresh)).toBe(JSON.stringify(step.result));
        }
      }),
      { numRuns: Number(process.env.DECIDE_RUNS ?? 40) },
    );
  });

  it("stays equal to a scan of its table after every step, copied or written in place", () => {
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 60 }), fc.nat(), (world, commands, at) => {
        const run = runWorld(world, commands, testConfig);
        const policies = registryPolicies(testConfig);
        for (const step of run.steps) {
          const table = step.result.snapshot.leases;
          expect(view(leaseIndexOf(table), table)).toEqual(scanned(table));
          expect(nextWakeUp(step.result.snapshot, testConfig)).toBe(wakeUpByScan(step.result.snapshot, testConfig));
          expect(nextWakeUp(step.result.snapshot, shortRetention)).toBe(wakeUpByScan(step.result.snapshot, shortRetention));
        }
        // A batch in place on one owned copy, as berthd's engine steps a group of calls.
        const from = at % run.steps.length;
        leaseIndexOf(run.steps[from]!.before.leases);
        let state = ownedCopy(run.steps[from]!.before);
        for (const step of run.steps.slice(from)) {
          state = decideOwned(state, step.event, testConfig, policies).snapshot;
          expect(view(leaseIndexOf(state.leases), state.leases)).toEqual(scanned(state.leases));
          expect(view(LeaseIndex.build(state.leases), state.leases)).toEqual(scanned(state.leases));
          expect(nextWakeUp(state, shortRetention)).toBe(wakeUpByScan(state, shortRetention));
        }
      }),
      { numRuns: Number(process.env.DECIDE_RUNS ?? 40) },
    );
  });
});

describe("Earliest (the index's min-heap of instants by lease)", () => {
  it("gives the earliest instant of the ids set now, through changes, removals and compaction", () => {
    const op = fc.record({ id: fc.integer({ min: 0, max: 40 }), at: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const heap = new Earliest();
        const live = new Map<string, number>();
        for (const { id, at } of ops) {
          heap.set(`l${id}`, at);
          if (at === undefined) live.delete(`l${id}`);
          else live.set(`l${id}`, at);
          expect(heap.earliest()).toBe(live.size === 0 ? undefined : Math.min(...live.values()));
        }
      }),
    );
  });
});
