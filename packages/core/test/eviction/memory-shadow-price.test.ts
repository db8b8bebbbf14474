import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HOUR, MINUTE, type KeepAliveInput, type KeepAliveWindows } from "../../src/eviction/keepalive.js";
import { defaultBerthKeepAliveOptions, memoryPrice } from "../../src/eviction/keepalive-berth.js";
import { pooledBerthKeepAlive } from "../../src/eviction/keepalive-berth-pooled.js";
import { shadowPrice, windowedGrowth } from "../../src/eviction/memory-shadow-price.js";
import { GiB } from "../../src/units.js";

const DAY = 24 * HOUR;
const t0 = Date.UTC(2024, 10, 15);

describe("windowed growth of a running count", () => {
  it("property: is the count now minus the count at the window's start (0 before any sample)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 * HOUR }), fc.integer({ min: 0, max: 3 })), { maxLength: 200 }),
        fc.integer({ min: 1, max: 12 * HOUR }),
        (steps, window) => {
          const growth = windowedGrowth(window);
          const samples: [number, number][] = [];
          let now = t0;
          let count = 0;
          for (const [dt, inc] of steps) {
            now += dt;
            count += inc;
            samples.push([now, count]);
            let before = 0;
            for (const [t, c] of samples) if (t <= now - window) before = c;
            expect(growth(now, count)).toBe(count - before);
          }
        },
      ),
    );
  });
});

describe("the budget's shadow price", () => {
  const penalty = 22_700;
  const budget = 320 * GiB;

  it("is zero while nothing is evicted, penalty x evictions / (budget x window) after, and zero again a window later", () => {
    const mu = shadowPrice(DAY, penalty);
    expect(mu.at(t0, { budget, evictions: 0 })).toBe(0);
    expect(mu.at(t0 + HOUR, { budget, evictions: 0 })).toBe(0);
    expect(mu.at(t0 + 2 * HOUR, { budget, evictions: 12 })).toBeCloseTo((penalty * 12) / (budget * DAY), 20);
    expect(mu.at(t0 + 10 * HOUR, { budget, evictions: 20 })).toBeCloseTo((penalty * 20) / (budget * DAY), 20);
    // The first 12 leave the window a day after they were seen.
    expect(mu.at(t0 + 26 * HOUR, { budget, evictions: 20 })).toBeCloseTo((penalty * 8) / (budget * DAY), 20);
    expect(mu.at(t0 + 34 * HOUR, { budget, evictions: 20 })).toBe(0);
    // Twice the budget, half the price per byte for the same pressure.
    const wide = shadowPrice(DAY, penalty);
    wide.at(t0, { budget: 2 * budget, evictions: 0 });
    expect(wide.at(t0 + 2 * HOUR, { budget: 2 * budget, evictions: 12 })).toBeCloseTo((penalty * 12) / (2 * budget * DAY), 20);
    expect(() => shadowPrice(0, penalty)).toThrow(RangeError);
  });
});

describe("berth keep-alive priced by memory pressure", () => {
  const o = defaultBerthKeepAliveOptions;
  const lease = (gaps: number[], starts: number[], size = 23 * GiB): KeepAliveInput => ({ idleGaps: gaps, idleStarts: starts, loadTime: 20_000, size });
  /** Memory a plan holds through an idle gap `g` (the simulator's accounting, pre-warm load included). */
  const held = (w: KeepAliveWindows, g: number): number => {
    const u = w.prewarm > (w.warmFor ?? 0) ? (w.warmFor ?? 0) : w.keepAlive;
    if (g <= u || w.prewarm <= (w.warmFor ?? 0)) return Math.min(g, u);
    return u + Math.max(0, Math.min(g, w.keepAlive) - w.prewarm);
  };

  it("with no pressure reported, or none seen, decides exactly as at the base price", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 20 * HOUR })), { minLength: 1, maxLength: 60 }),
        (steps) => {
          const plain = pooledBerthKeepAlive({ ...o, pressureWindow: 0 });
          const blind = pooledBerthKeepAlive(o);
          const calm = pooledBerthKeepAlive(o);
          const leases = Array.from({ length: 41 }, () => lease([], []));
          let now = t0;
          for (const [l, gap] of steps) {
            const h = leases[l];
            now += 1;
            (h.idleGaps as number[]).push(gap);
            (h.idleStarts as number[]).push(now);
            now += gap;
            const ask = { ...h, idleSince: now };
            const want = plain.windows(ask);
            expect(blind.windows(ask)).toEqual(want);
            expect(calm.windows({ ...ask, pressure: { budget: 320 * GiB, evictions: 0 } })).toEqual(want);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("raises the price of memory with evictions: a new lease holds for its break-even at base + mu", () => {
    const p = pooledBerthKeepAlive(o);
    const budget = 320 * GiB;
    const idle = lease([], []);
    const base = p.windows({ ...idle, idleSince: t0, pressure: { budget, evictions: 0 } });
    expect(base.mode).toBe("NoHistory");
    expect(base.keepAlive).toBeCloseTo(o.breakEven, 0);
    // 40 evictions in the last day: mu = 22.7 s x 40 / (320 GiB x 1 day).
    const pressed = p.windows({ ...idle, idleSince: t0 + HOUR, pressure: { budget, evictions: 40 } });
    const mu = (o.referenceLoad * 40) / (budget * DAY);
    expect(pressed.keepAlive).toBeCloseTo(o.referenceLoad / ((memoryPrice(o) + mu) * 23 * GiB), 0);
    expect(pressed.keepAlive).toBeLessThan(0.8 * o.breakEven);
    // A day and an hour after the last eviction the base price is back.
    expect(p.windows({ ...idle, idleSince: t0 + 26 * HOUR, pressure: { budget, evictions: 40 } }).keepAlive).toBeCloseTo(o.breakEven, 0);
  });

  it("property: under pressure a lease with history never plans to hold more memory over its own gaps than at the base price", () => {
    let less = 0;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1_000, max: 20 * HOUR }), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 400 }),
        (gaps, evictions) => {
          const starts: number[] = [];
          let now = t0;
          for (const g of gaps) {
            starts.push(now);
            now += g + MINUTE;
          }
          // One lease alone (no fleet prior): a single-stage plan, so the comparison is exact.
          const opts = { ...o, fleetPrior: 0, timeOfDayWindow: 0 };
          const base = pooledBerthKeepAlive({ ...opts, pressureWindow: 0 }).windows({ ...lease(gaps, starts), idleSince: now });
          const pressed = pooledBerthKeepAlive(opts).windows({ ...lease(gaps, starts), idleSince: now, pressure: { budget: 320 * GiB, evictions } });
          const total = (w: KeepAliveWindows) => gaps.reduce((s, g) => s + held(w, g), 0);
          expect(total(pressed)).toBeLessThanOrEqual(total(base) * (1 + 1e-9) + 1);
          if (total(pressed) < total(base) - 1) less++;
        },
      ),
      { numRuns: 100 },
    );
    // Not vacuous: the price does bite.
    expect(less).toBeGreaterThan(10);
  });
});
