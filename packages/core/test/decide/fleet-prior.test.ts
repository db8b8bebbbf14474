import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultDecideConfig, type DecideConfig, type Snapshot } from "../../src/decide/index.js";
import { addFleetGap, emptyFleetGaps, fleetProfile, type FleetGaps } from "../../src/eviction/fleet-gaps.js";
import { emptyBinnedGaps, GapProfile } from "../../src/eviction/gap-profile.js";
import { HOUR, MINUTE } from "../../src/eviction/keepalive.js";
import { defaultBerthKeepAliveOptions } from "../../src/eviction/keepalive-berth.js";
import { pooledBerthKeepAlive } from "../../src/eviction/keepalive-berth-pooled.js";
import { GiB } from "../../src/units.js";
import { leaseSpec, node, tagged, World } from "./fixtures.js";

// decide builds a fresh keep-alive policy per decision, so the pooled prior over the fleet
// (keepalive-berth-pooled.ts) gets the fleet's gaps from the snapshot (Snapshot.fleetGaps),
// as the simulator's one instance per run gets them from every lease it has planned.

const at = (day: number, hour: number, minute = 0) => Date.UTC(2024, 10, 15 + day, hour, minute);
const berth: DecideConfig = { ...defaultDecideConfig, keepAlivePolicy: "berth", recentGapsLimit: 256 };
const shiftAbove = defaultBerthKeepAliveOptions.timeOfDayShiftAbove;

const ready = (w: World, id: string, name: string, at: number, activityWindow: number): void => {
  const spec = leaseSpec(name, {
    models: [{ name, repository: "repo" }],
    resources: { gpuMemory: 23 * GiB, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 4 * GiB, gpuModels: [] },
    minDuration: MINUTE,
    renewal: { enabled: true, activityWindow },
  });
  const requested = w.step({ _tag: "LeaseRequested", at, id, spec });
  const serverId = tagged(requested.intents, "EnsureServer")[0]?.serverId ?? tagged(requested.intents, "AssignLease")[0]?.serverId;
  if (!serverId) throw new Error(`${name} was not placed: ${JSON.stringify(requested.rejections)}`);
  w.step({ _tag: "ServerObserved", at, serverId, state: "Up", readyReplicas: 1 });
  w.step({ _tag: "ModelsLoaded", at, serverId, leaseId: id, measuredMemory: 23 * GiB, loadTime: 20_000 });
  expect(w.snapshot.leases[id]!.phase).toBe("Ready");
};

/** A world where lease "b" was used 5 times, 5 min apart, on day 3; with `lullingFleet`, lease "a" was used every 4 h for 3 days before. */
const worldBeforeExpiry = (lullingFleet: boolean): { w: World; expireAt: number } => {
  const w = new World(berth);
  w.snapshot = { ...w.snapshot, now: at(0, 0), lastAutoscaleAt: at(0, 0) };
  w.step({ _tag: "NodeObserved", at: at(0, 0), node: node("n0", 1, 80 * GiB) });
  if (lullingFleet) {
    ready(w, "la", "a", at(0, 0), 5 * HOUR);
    for (let t = at(0, 4); t <= at(3, 0); t += 4 * HOUR) w.step({ _tag: "Activity", at: t, lease: "a", requests: 1 });
  }
  ready(w, "lb", "b", at(3, 0), 30_000);
  for (let i = 1; i <= 4; i++) w.step({ _tag: "Activity", at: at(3, 0, 5 * i), lease: "b", requests: 1 });
  return { w, expireAt: at(3, 0, 20) + 31_000 };
};

const warmUntilOfB = (snapshot: Snapshot, expireAt: number): number | undefined => {
  const w = new World(berth);
  w.snapshot = snapshot;
  w.step({ _tag: "Tick", at: expireAt });
  const b = w.snapshot.leases.lb!;
  expect(b.phase).toBe("Expiring");
  return b.warmUntil;
};

describe("decide: the pooled keep-alive prior from the snapshot's fleet gaps", () => {
  it("a lease with few gaps, on a fleet that showed long lulls, is planned differently than on an empty fleet", () => {
    const lulls = worldBeforeExpiry(true);
    const empty = worldBeforeExpiry(false);
    // Every gap of both leases is in the snapshot: 18 of "a" (long), 4 of "b" (short).
    const fleet = lulls.w.snapshot.fleetGaps!;
    expect(fleet.long.reduce((n, c) => n + c[2], 0)).toBe(18);
    expect(fleet.short.reduce((n, c) => n + c[2], 0)).toBe(4);
    expect(empty.w.snapshot.fleetGaps!.long).toEqual([]);
    const withPrior = warmUntilOfB(lulls.w.snapshot, lulls.expireAt);
    const alone = warmUntilOfB(empty.w.snapshot, empty.expireAt);
    expect(withPrior).not.toBe(alone);
    // The fleet's 4 h lulls make holding "b" through an hour or more worth it; alone it has shown 5-minute gaps.
    expect((withPrior ?? Number.POSITIVE_INFINITY) - at(3, 0, 20)).toBeGreaterThan((alone ?? 0) - at(3, 0, 20));
  });

  it("keeps no fleet gaps for other keep-alive policies", () => {
    const w = new World({ ...berth, keepAlivePolicy: "fixed-10m" });
    w.snapshot = { ...w.snapshot, now: at(0, 0), lastAutoscaleAt: at(0, 0) };
    w.step({ _tag: "NodeObserved", at: at(0, 0), node: node("n0", 1, 80 * GiB) });
    ready(w, "lb", "b", at(0, 0), 30_000);
    w.step({ _tag: "Activity", at: at(0, 0, 5), lease: "b", requests: 1 });
    expect(w.snapshot.fleetGaps).toBeUndefined();
  });

  it("the fleet gaps survive a JSON round trip: a stored snapshot decides the same", () => {
    const { w, expireAt } = worldBeforeExpiry(true);
    const stored = JSON.parse(JSON.stringify(w.snapshot)) as Snapshot;
    expect(stored.fleetGaps).toEqual(w.snapshot.fleetGaps);
    const fromStored = warmUntilOfB(stored, expireAt);
    expect(fromStored).toBe(warmUntilOfB(w.snapshot, expireAt));
    // And the stored fleet is what makes the difference (not lost on the way).
    expect(fromStored).not.toBe(warmUntilOfB({ ...stored, fleetGaps: emptyFleetGaps(shiftAbove) }, expireAt));
  });
});

describe("FleetGaps: GapProfile's summary as plain data", () => {
  const day = 24 * HOUR;
  const gapArb = fc.record({ start: fc.integer({ min: at(0, 0), max: at(0, 0) + 7 * day }), gap: fc.integer({ min: 1, max: 3 * day }) });
  const near = (p: GapProfile, since: number, half: number) => {
    const into = emptyBinnedGaps();
    const added = p.addNearTimeOfDayTapered(into, since, half);
    return { added, weight: [...into.weight], sum: [...into.sum] };
  };
  const close = (a: readonly number[], b: readonly number[], rel: number) =>
    a.every((x, i) => Math.abs(x - b[i]!) <= rel * Math.max(1, Math.abs(x), Math.abs(b[i]!)));

  it("short gaps are exact and long ones within their minute; totals are the same", () => {
    fc.assert(
      fc.property(fc.array(gapArb, { maxLength: 60 }), fc.integer({ min: 0, max: day - 1 }), fc.integer({ min: 0, max: 12 }), (gaps, sinceTod, half) => {
        const exact = new GapProfile(shiftAbove);
        let fleet: FleetGaps = emptyFleetGaps(shiftAbove);
        for (const { start, gap } of gaps) {
          exact.add(start, gap);
          fleet = addFleetGap(fleet, start, gap);
        }
        const rebuilt = fleetProfile(fleet, shiftAbove);
        expect(rebuilt.total).toBe(exact.total);
        expect(close([...rebuilt.all.weight], [...exact.all.weight], 1e-12)).toBe(true);
        expect(close([...rebuilt.all.sum], [...exact.all.sum], 1e-9)).toBe(true);
        const since = at(8, 0) + sinceTod;
        const a = near(exact, since, half);
        const b = near(rebuilt, since, half);
        expect(b.added).toBeCloseTo(a.added, 9);
        // The summed gaps move by under a minute each (the long ones' start, to the minute).
        const total = a.weight.reduce((s, x) => s + x, 0);
        expect(Math.abs(b.sum.reduce((s, x) => s + x, 0) - a.sum.reduce((s, x) => s + x, 0))).toBeLessThanOrEqual(total * MINUTE + 1e-3);
        // Short gaps alone: the same bins exactly.
        if (gaps.every((g) => g.gap <= shiftAbove)) expect(close(b.weight, a.weight, 1e-12) && close(b.sum, a.sum, 1e-9)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("the pooled policy handed the fleet it would have seen plans the same as one that saw it", () => {
    // Hour-aligned starts: the rebuilt summary is then exact for long gaps too.
    // Long gaps in whole hours: two of them never share a bin unless equal, so their mean is each.
    const gap = fc.oneof(fc.integer({ min: 1, max: shiftAbove }), fc.integer({ min: 3, max: 48 }).map((h) => h * HOUR));
    const hourly = fc.record({ hour: fc.integer({ min: 0, max: 7 * 24 }), gap });
    fc.assert(
      fc.property(fc.array(hourly, { minLength: 1, maxLength: 40 }), fc.array(hourly, { maxLength: 12 }), (others, mine) => {
        const seeing = pooledBerthKeepAlive();
        const input = (gs: { hour: number; gap: number }[]) => ({
          idleGaps: gs.map((g) => g.gap),
          idleStarts: gs.map((g) => at(0, 0) + g.hour * HOUR),
          idleSince: at(8, 9),
          loadTime: 20_000,
          size: 23 * GiB,
        });
        seeing.windows(input(others));
        let fleet: FleetGaps = emptyFleetGaps(shiftAbove);
        for (const g of [...others, ...mine]) fleet = addFleetGap(fleet, at(0, 0) + g.hour * HOUR, g.gap);
        const seen = seeing.windows(input(mine));
        const handed = pooledBerthKeepAlive().windows({ ...input(mine), fleet });
        expect(handed.mode).toBe(seen.mode);
        expect(handed.keepAlive).toBeCloseTo(seen.keepAlive, -1);
        expect(handed.prewarm).toBeCloseTo(seen.prewarm, -1);
      }),
      { numRuns: 100 },
    );
  });
});
