import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decide,
  defaultDecideConfig,
  emptySnapshot,
  nextWakeUp,
  registryPolicies,
  type DecideConfig,
  type DecideResult,
  type Event,
  type Snapshot,
} from "../../src/decide/index.js";
import { HOUR, MINUTE } from "../../src/eviction/keepalive.js";
import { defaultBerthKeepAliveOptions } from "../../src/eviction/keepalive-berth.js";
import { shadowPrice } from "../../src/eviction/memory-shadow-price.js";
import { DAY } from "../../src/eviction/keepalive-time-of-day.js";
import { GiB } from "../../src/units.js";
import { leaseSpec, node, tagged, World } from "./fixtures.js";

// decide hands Berth's keep-alive the inputs the keep-alive experiment proved it with
// (sim/src/keepalive/simulate.ts): when each idle gap began (its time of day), when the idle
// period began, and the fleet's memory pressure (GPU memory and recent evictions of warm leases),
// all from the snapshot, so that a stored snapshot decides the same.

const at = (day: number, hour: number, minute = 0) => Date.UTC(2024, 10, 15 + day, hour, minute);
const berth: DecideConfig = { ...defaultDecideConfig, keepAlivePolicy: "berth", recentGapsLimit: 256 };
const noRenewal = { minDuration: MINUTE, renewal: { enabled: false, activityWindow: 0 } };

/** A world at `start` with one node of `gpus` GPUs of `gpuGiB`. */
const worldAt = (start: number, gpus = 1, gpuGiB = 80, config = berth) => {
  const w = new World(config);
  w.snapshot = { ...w.snapshot, now: start, lastAutoscaleAt: start };
  w.step({ _tag: "NodeObserved", at: start, node: node("n0", gpus, gpuGiB * GiB) });
  return w;
};

/** Request a bespoke lease of `gib` GiB and take it to Ready; returns its id. */
const ready = (w: World, id: string, name: string, gib: number, at: number, over: Parameters<typeof leaseSpec>[1] = {}): string => {
  const spec = leaseSpec(name, { models: [{ name, repository: "repo" }], resources: { gpuMemory: gib * GiB, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 4 * GiB, gpuModels: [] }, ...over });
  const requested = w.step({ _tag: "LeaseRequested", at, id, spec });
  const serverId = tagged(requested.intents, "EnsureServer")[0]?.serverId ?? tagged(requested.intents, "AssignLease")[0]?.serverId;
  if (!serverId) throw new Error(`${name} was not placed: ${JSON.stringify(requested.rejections)} ${JSON.stringify(w.snapshot.decisions.at(-1))}`);
  w.step({ _tag: "ServerObserved", at, serverId, state: "Up", readyReplicas: 1 });
  w.step({ _tag: "ModelsLoaded", at, serverId, leaseId: id, measuredMemory: gib * GiB, loadTime: 20_000 });
  expect(w.snapshot.leases[id]!.phase).toBe("Ready");
  return id;
};

describe("decide: Berth's keep-alive by the time of day of the lease's gaps", () => {
  // Mirrors keepalive-plan.test.ts ("learns a daily lull"): busy from 16:00 to 07:00 with a
  // request every 30 min, idle from 07:00 to 16:00, for 6 days.
  const dailyLull = (w: World, days: number, lastAt: number) => {
    for (let d = 0; d < days; d++)
      for (let t = at(d, 16); t <= at(d + 1, 7); t += 30 * MINUTE) if (t <= lastAt) w.step({ _tag: "Activity", at: t, lease: "a", requests: 1 });
  };
  const expireAfter = (last: number) => {
    const w = worldAt(at(0, 15));
    ready(w, "l1", "a", 23, at(0, 15), { minDuration: MINUTE, renewal: { enabled: true, activityWindow: 30_000 } });
    dailyLull(w, 6, last);
    return w;
  };

  it("at the start of the daily lull it keeps the lease warm until its users come back at 16:00; in its busy hours it does not", () => {
    const morning = expireAfter(at(6, 7));
    const lease = morning.snapshot.leases.l1!;
    expect(lease.recentGapStarts?.length).toBe(lease.recentGaps.length);
    expect(lease.lastActivityAt).toBe(at(6, 7));
    morning.step({ _tag: "Tick", at: at(6, 7) + 30_000 });
    const warm = morning.snapshot.leases.l1!;
    expect(warm.phase).toBe("Expiring");
    expect(warm.warmUntil).toBeGreaterThanOrEqual(at(6, 16));

    const evening = expireAfter(at(5, 22));
    expect(evening.snapshot.leases.l1!.lastActivityAt).toBe(at(5, 22));
    evening.step({ _tag: "Tick", at: at(5, 22) + 30_000 });
    const busy = evening.snapshot.leases.l1!;
    // Warm through its half-hour pauses, not through the night into tomorrow's lull.
    expect(busy.phase).toBe("Expiring");
    expect(busy.warmUntil! - at(5, 22)).toBeGreaterThanOrEqual(30 * MINUTE);
    expect(busy.warmUntil! - at(5, 22)).toBeLessThan(2 * HOUR);
  });

  it("a lease stored without its gaps' starts (an older record) is planned from its gaps alone", () => {
    const w = expireAfter(at(6, 7));
    const { recentGapStarts: _dropped, ...old } = w.snapshot.leases.l1!;
    w.snapshot = { ...w.snapshot, leases: { ...w.snapshot.leases, l1: old } };
    w.step({ _tag: "Activity", at: at(6, 7, 5), lease: "a", requests: 1 });
    expect(w.snapshot.leases.l1!.recentGapStarts).toBeUndefined();
    w.step({ _tag: "Tick", at: at(6, 7, 5) + 30_000 });
    // Without the time of day the lull is 1 gap in 31: not worth holding until 16:00.
    const lease = w.snapshot.leases.l1!;
    expect(lease.phase).toBe("Expiring");
    expect(lease.warmUntil!).toBeLessThan(at(6, 16));
  });
});

describe("the shadow price from eviction times", () => {
  it("property: counts the times in the trailing window, whatever was asked before (no state across calls)", () => {
    const window = 6 * HOUR;
    const budget = 80 * GiB;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 * DAY }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 4 * DAY }), { minLength: 1, maxLength: 10 }),
        (raw, asks) => {
          const times = [...raw].sort((a, b) => a - b);
          const price = shadowPrice(window, 22_700);
          for (const now of asks) {
            const n = times.filter((t) => t > now - window && t <= now).length;
            const want = n > 0 ? (22_700 * n) / (budget * window) : 0;
            expect(price.at(now, { budget, evictions: 0, evictionTimes: times })).toBeCloseTo(want, 20);
            expect(shadowPrice(window, 22_700).at(now, { budget, evictions: 0, evictionTimes: times })).toBe(price.at(now, { budget, evictions: 0, evictionTimes: times }));
          }
        },
      ),
    );
  });
});

describe("decide: Berth's keep-alive priced by the fleet's memory pressure", () => {
  const window = defaultBerthKeepAliveOptions.pressureWindow;
  /** How long a fresh 10 GiB lease, Ready at `t` and expired a minute later, is kept warm. */
  const probe = (w: World, id: string, t: number): number => {
    ready(w, id, id, 10, t, noRenewal);
    w.step({ _tag: "Tick", at: t + MINUTE });
    const lease = w.snapshot.leases[id]!;
    expect(lease.phase).toBe("Expiring");
    return lease.warmUntil! - lease.lastActivityAt;
  };

  it("after warm leases are evicted a newly expired lease is kept warm for less, and a window later for as long as before", () => {
    const t0 = at(0, 8);
    const w = worldAt(t0);
    const calm = probe(w, "p0", t0);
    // A warm 50 GiB lease is evicted to make room for a 60 GiB one (80 GiB in all).
    ready(w, "victim", "victim", 50, t0 + HOUR, noRenewal);
    w.step({ _tag: "Tick", at: t0 + HOUR + MINUTE });
    expect(w.snapshot.leases.victim!.phase).toBe("Expiring");
    expect(w.snapshot.leases.victim!.warmUntil).toBeGreaterThan(t0 + 2 * HOUR);
    ready(w, "big", "big", 60, t0 + 2 * HOUR, { minDuration: 30 * HOUR });
    expect(w.snapshot.leases.victim!.phase).toBe("Released");
    expect(w.snapshot.warmEvictions?.length).toBeGreaterThanOrEqual(1);
    const evictedAt = t0 + 2 * HOUR;

    const pressed = probe(w, "p1", evictedAt + HOUR);
    expect(pressed).toBeLessThan(calm);
    // The shadow price: base + penalty x evictions / (budget x window), on the 80 GiB the leases share.
    const base = defaultBerthKeepAliveOptions.referenceLoad / (defaultBerthKeepAliveOptions.referenceSize * defaultBerthKeepAliveOptions.breakEven);
    const n = w.snapshot.warmEvictions!.length;
    const mu = (defaultBerthKeepAliveOptions.referenceLoad * n) / (80 * GiB * window);
    expect(pressed / calm).toBeCloseTo(base / (base + mu), 6);

    // The snapshot, stored and read back, prices the same.
    const stored = JSON.parse(JSON.stringify(w.snapshot)) as Snapshot;
    const again = new World(berth);
    again.snapshot = stored;
    expect(probe(again, "p2", evictedAt + 2 * HOUR)).toBe(probe(w, "p2", evictedAt + 2 * HOUR));

    // A window after the eviction the base price is back.
    expect(probe(w, "p3", evictedAt + window + HOUR)).toBe(calm);
  });

  it("an eviction of a lease whose keep-alive had already ended is not pressure", () => {
    const t0 = at(0, 8);
    const w = worldAt(t0);
    ready(w, "victim", "victim", 50, t0, noRenewal);
    w.step({ _tag: "Tick", at: t0 + MINUTE });
    const victim = w.snapshot.leases.victim!;
    // As if its keep-alive had ended a moment ago and no Tick had released it yet.
    w.snapshot = { ...w.snapshot, leases: { ...w.snapshot.leases, victim: { ...victim, warmUntil: t0 + 2 * MINUTE } } };
    ready(w, "big", "big", 60, t0 + 3 * MINUTE, { minDuration: 30 * HOUR });
    expect(w.snapshot.leases.victim!.phase).toBe("Released");
    expect(w.snapshot.warmEvictions).toBeUndefined();
  });
});

describe("decide with Berth's keep-alive inputs, replayed", () => {
  /** JSON as the control plane's store keeps it (apps/control-plane/src/engine/codec.ts): infinities tagged. */
  const stored = (s: Snapshot): Snapshot =>
    JSON.parse(
      JSON.stringify(s, (_k, v: unknown) => (v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : v)),
      (_k, v: unknown) => (v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : v),
    ) as Snapshot;
  const config: DecideConfig = { ...berth, retainTerminal: 10 * DAY };

  type Op = { readonly c: "request"; readonly gib: number; readonly dt: number } | { readonly c: "activity" | "release"; readonly pick: number; readonly dt: number } | { readonly c: "tick"; readonly dt: number };
  const dt = fc.constantFrom(0, 30_000, 10 * MINUTE, HOUR, 7 * HOUR, 20 * HOUR);
  const pick = fc.double({ min: 0, max: 0.999, noNaN: true });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 2, arbitrary: fc.record({ c: fc.constant("request" as const), gib: fc.integer({ min: 5, max: 60 }), dt }) },
    { weight: 4, arbitrary: fc.record({ c: fc.constant("activity" as const), pick, dt }) },
    { weight: 1, arbitrary: fc.record({ c: fc.constant("release" as const), pick, dt }) },
    { weight: 3, arbitrary: fc.record({ c: fc.constant("tick" as const), dt }) },
  );

  /** Leases of random sizes on one 80 GiB GPU, used and left idle at random: servers come up and load at once. */
  const drive = (ops: readonly Op[], freshPolicies: boolean) => {
    const shared = registryPolicies(config);
    let snapshot = emptySnapshot({ now: at(0, 0), seed: 3 });
    const steps: { before: Snapshot; event: Event; result: DecideResult }[] = [];
    const apply = (event: Event): void => {
      const result = decide(snapshot, event, config, freshPolicies ? registryPolicies(config) : shared);
      steps.push({ before: snapshot, event, result });
      snapshot = result.snapshot;
      // The executor's part, at once: servers come up, models load.
      for (const intent of result.intents) {
        if (intent._tag === "EnsureServer") apply({ _tag: "ServerObserved", at: snapshot.now, serverId: intent.serverId, state: "Up", readyReplicas: intent.replicas });
        if (intent._tag === "AssignLease") {
          const lease = snapshot.leases[intent.leaseId];
          if (lease?.phase === "Loading") apply({ _tag: "ModelsLoaded", at: snapshot.now, serverId: intent.serverId, leaseId: lease.id, measuredMemory: lease.spec.resources.gpuMemory, loadTime: 20_000 });
        }
      }
    };
    apply({ _tag: "NodeObserved", at: snapshot.now, node: node("n0", 1, 80 * GiB) });
    ops.forEach((op, i) => {
      const t = snapshot.now + op.dt;
      const names = Object.values(snapshot.leases).filter((l) => l.phase !== "Released" && l.phase !== "Failed").map((l) => l.spec.name).sort();
      const name = op.c === "request" || op.c === "tick" ? undefined : names[Math.floor(op.pick * names.length)];
      if (op.c === "request") {
        const spec = leaseSpec(`l${i}`, {
          models: [{ name: `m${i % 4}`, repository: "repo" }],
          resources: { gpuMemory: op.gib * GiB, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 4 * GiB, gpuModels: [] },
          minDuration: MINUTE,
          renewal: { enabled: true, activityWindow: MINUTE },
        });
        apply({ _tag: "LeaseRequested", at: t, id: `id${i}`, spec });
      } else if (op.c === "tick") apply({ _tag: "Tick", at: t });
      else if (name !== undefined) apply(op.c === "activity" ? { _tag: "Activity", at: t, lease: name, requests: 1 } : { _tag: "LeaseReleased", at: t, name });
      // A Tick at the next deadline, as berthd schedules one.
      const wake = nextWakeUp(snapshot, config);
      if (wake !== undefined && wake <= t + HOUR) apply({ _tag: "Tick", at: wake });
    });
    return steps;
  };

  it("property: deterministic, and a snapshot read back from JSON makes the same next decisions", () => {
    let pressured = 0;
    let timed = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 60 }), (ops) => {
        const a = drive(ops, false);
        const b = drive(ops, true);
        expect(JSON.stringify(b.map((s) => s.result))).toBe(JSON.stringify(a.map((s) => s.result)));
        const policies = registryPolicies(config);
        for (const { before, event, result } of a) {
          const replayed = decide(stored(before), event, config, policies);
          expect(JSON.stringify(replayed)).toBe(JSON.stringify(result));
        }
        const last = a.at(-1)!.result.snapshot;
        if ((last.warmEvictions?.length ?? 0) > 0) pressured++;
        if (Object.values(last.leases).some((l) => (l.recentGapStarts?.length ?? 0) > 0)) timed++;
      }),
      { numRuns: 60 },
    );
    // Not vacuous: some runs evicted warm leases, and some leases had timed gaps.
    expect(pressured).toBeGreaterThan(5);
    expect(timed).toBeGreaterThan(5);
  });
});
