import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EvictionCandidate, EvictionPolicy } from "../../src/eviction/types.js";
import { lru } from "../../src/eviction/lru.js";
import { costAware, evictionCost } from "../../src/eviction/cost-aware.js";
import { reuseProbability } from "../../src/eviction/reuse.js";
import { evictionPolicy, evictionPolicyNames } from "../../src/eviction/registry.js";
import { GiB } from "../../src/units.js";

const MIN = 60_000;
const lease = (id: string, over: Partial<EvictionCandidate> = {}): EvictionCandidate => ({
  leaseId: id, serverId: "s", frees: 10 * GiB, createdAt: 0, heldUntil: 0, expiresAt: Infinity,
  lastActivityAt: 0, loadTime: 20_000, size: 10 * GiB, recentGaps: [], ...over,
});

describe("lru", () => {
  it("evicts expired leases first, then the least recently active, and stops when the need is met", () => {
    const now = 100 * MIN;
    const d = lru().choose([
      lease("recent", { lastActivityAt: 90 * MIN }),
      lease("old", { lastActivityAt: 10 * MIN }),
      lease("expired-recent", { lastActivityAt: 95 * MIN, expiresAt: 99 * MIN }),
      lease("older", { lastActivityAt: 20 * MIN }),
    ], 15 * GiB, now);
    expect(d.victims).toEqual(["expired-recent", "old"]);
    expect(d.satisfied).toBe(true);
    expect(d.freed).toBe(20 * GiB);
  });

  it("never picks a lease inside its minimum duration, and evicts nothing when the need cannot be met without one", () => {
    const now = 100 * MIN;
    const cands = [lease("held", { heldUntil: 101 * MIN, lastActivityAt: 0 }), lease("free", { lastActivityAt: 50 * MIN })];
    expect(lru().choose(cands, 10 * GiB, now).victims).toEqual(["free"]);
    const d = lru().choose(cands, 15 * GiB, now);
    expect(d).toMatchObject({ victims: [], satisfied: false, freed: 0 });
    expect(d.verdicts.find((v) => v.leaseId === "held")?.code).toBe("Protected");
  });
});

describe("cost-aware", () => {
  it("keeps a lease likely to be reused and evicts one whose requests have stopped", () => {
    const now = 100 * MIN;
    const busy = lease("busy", { lastActivityAt: 99 * MIN, recentGaps: [MIN, 2 * MIN, MIN, 3 * MIN] });
    const done = lease("done", { lastActivityAt: 98 * MIN, recentGaps: [MIN, MIN, MIN, MIN] }); // idle 2 min, every gap was 1 min
    const d = costAware().choose([busy, done], 5 * GiB, now);
    expect(d.victims).toEqual(["done"]);
    expect(evictionCost(done, now)).toBeLessThan(evictionCost(busy, now));
  });

  it("compares per byte freed: one big idle model before a small one with the same reuse odds", () => {
    const gaps = [5 * MIN, 5 * MIN];
    const big = lease("big", { frees: 40 * GiB, size: 40 * GiB, recentGaps: gaps, loadTime: 20_000 });
    const small = lease("small", { frees: 10 * GiB, size: 10 * GiB, recentGaps: gaps, loadTime: 40_000 });
    // Same reuse probability; cost per byte is loadTime, so the faster-to-reload big one goes.
    expect(costAware().choose([small, big], 5 * GiB, 10 * MIN).victims).toEqual(["big"]);
  });

  it("estimates reuse from the gaps, conditioned on the idle time so far", () => {
    expect(reuseProbability([], 0, MIN)).toBe(0.5);
    const gaps = [MIN, MIN, MIN, 60 * MIN];
    expect(reuseProbability(gaps, 0, 2 * MIN)).toBeGreaterThan(0.6);
    expect(reuseProbability(gaps, 5 * MIN, 2 * MIN)).toBeLessThan(0.3);
    for (const idle of [0, MIN, 30 * MIN, 600 * MIN]) {
      const p = reuseProbability(gaps, idle, 10 * MIN);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });
});

describe("registry", () => {
  it("names both policies", () => {
    expect(evictionPolicyNames.sort()).toEqual(["cost-aware", "lru"]);
    for (const n of evictionPolicyNames) expect(evictionPolicy(n)?.name).toBe(n);
    expect(evictionPolicy("nope")).toBeUndefined();
  });
});

const candidateArb = fc.record({
  leaseId: fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"),
  serverId: fc.constant("s"),
  frees: fc.integer({ min: 0, max: 48 }).map((g) => g * GiB),
  createdAt: fc.integer({ min: 0, max: 1000 }),
  heldUntil: fc.integer({ min: 0, max: 2000 }),
  expiresAt: fc.integer({ min: 0, max: 2000 }),
  lastActivityAt: fc.integer({ min: 0, max: 1000 }),
  loadTime: fc.integer({ min: 0, max: 60_000 }),
  size: fc.integer({ min: 1, max: 48 }).map((g) => g * GiB),
  recentGaps: fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 8 }),
});

describe.each<[string, () => EvictionPolicy]>([["lru", lru], ["cost-aware", () => costAware()]])("%s properties", (_name, make) => {
  const input = fc.tuple(fc.array(candidateArb, { maxLength: 10 }), fc.integer({ min: 0, max: 200 }).map((g) => g * GiB), fc.integer({ min: 0, max: 2000 }));

  it("never picks a protected lease; victims are distinct candidates; freed meets the need when satisfied", () => {
    fc.assert(
      fc.property(input, ([cands, need, now]) => {
        const d = make().choose(cands, need, now);
        const first = new Map<string, EvictionCandidate>();
        for (const c of cands) if (!first.has(c.leaseId)) first.set(c.leaseId, c);
        expect(new Set(d.victims).size).toBe(d.victims.length);
        for (const v of d.victims) {
          const c = first.get(v);
          expect(c).toBeDefined();
          expect(now < c!.heldUntil).toBe(false);
        }
        const freed = d.victims.reduce((s, v) => s + first.get(v)!.frees, 0);
        expect(d.freed).toBe(freed);
        if (d.satisfied) expect(freed).toBeGreaterThanOrEqual(need);
        else expect(d.victims).toEqual([]);
        // Unsatisfied only when the unprotected leases together cannot free the need.
        const available = [...first.values()].filter((c) => !(now < c.heldUntil)).reduce((s, c) => s + c.frees, 0);
        expect(d.satisfied).toBe(available >= need || need <= 0);
      }),
    );
  });

  it("is deterministic and independent of the candidates' order", () => {
    fc.assert(
      fc.property(input, fc.integer(), ([cands, need, now], seed) => {
        const unique = [...new Map(cands.map((c) => [c.leaseId, c] as const)).values()];
        const shuffled = [...unique].sort((a, b) => ((a.leaseId.charCodeAt(0) * (seed | 1)) % 97) - ((b.leaseId.charCodeAt(0) * (seed | 1)) % 97));
        const a = make().choose(unique, need, now);
        expect(make().choose(unique, need, now)).toEqual(a);
        expect(make().choose(shuffled, need, now).victims).toEqual(a.victims);
      }),
    );
  });

  it("takes expired leases before unexpired ones", () => {
    fc.assert(
      fc.property(input, ([cands, need, now]) => {
        const d = make().choose(cands, need, now);
        const byId = new Map<string, EvictionCandidate>(cands.map((c) => [c.leaseId, c] as const).reverse());
        const expired = d.victims.map((v) => now >= byId.get(v)!.expiresAt);
        // Once an unexpired victim appears, no expired one follows it.
        const firstUnexpired = expired.indexOf(false);
        if (firstUnexpired >= 0) expect(expired.slice(firstUnexpired).every((e) => !e)).toBe(true);
      }),
    );
  });
});
