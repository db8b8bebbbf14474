import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HOUR, MINUTE } from "../../src/eviction/keepalive.js";
import { optimalPlan, planCostForGap, type PlanCostModel } from "../../src/eviction/keepalive-plan.js";
import { DAY, gapsNearTimeOfDay, timeOfDayDistance, timeOfDayOffset } from "../../src/eviction/keepalive-time-of-day.js";
import { berthWindows, defaultBerthKeepAliveOptions } from "../../src/eviction/keepalive-berth.js";
import { GiB } from "../../src/units.js";

/** Least expected cost over every integer plan (U, S, E) up to `max`, from the per-gap definition. */
const bruteForce = (gaps: readonly number[], weights: readonly number[], m: PlanCostModel, max: number): number => {
  const total = weights.reduce((s, w) => s + w, 0);
  const cost = (u: number, s: number, e: number) => gaps.reduce((c, g, i) => c + weights[i] * planCostForGap(g, u, s, e, m), 0) / total;
  let best = Infinity;
  const us = m.warmFor !== undefined ? [m.warmFor] : Array.from({ length: Math.min(max, m.maxWarm) + 1 }, (_, t) => t);
  for (const t of us) best = Math.min(best, cost(t, t, t)); // plain keep-alive
  for (const u of us)
    for (let s = u + 1; s + m.lead <= max; s++)
      for (let e = s + m.lead; e <= Math.min(max, m.maxWarm); e++) best = Math.min(best, cost(u, s, e));
  return best;
};

const model = fc.record({
  hold: fc.double({ min: 0.01, max: 2, noNaN: true }),
  loadPenalty: fc.double({ min: 0.5, max: 40, noNaN: true }),
  lead: fc.integer({ min: 0, max: 4 }),
  maxWarm: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 24 })),
});

describe("optimal unload / pre-warm plan", () => {
  it("property: matches a brute-force search over every integer plan, and reports its own cost", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 1, maxLength: 7 }), model, (gaps, m) => {
        const sorted = [...gaps].sort((a, b) => a - b);
        const plan = optimalPlan(sorted, m);
        const ones = gaps.map(() => 1);
        expect(plan.cost).toBeCloseTo(bruteForce(gaps, ones, m, 26), 6);
        const direct = gaps.reduce((c, g) => c + planCostForGap(g, plan.warmFor, plan.prewarmAt, plan.warmUntil, m), 0) / gaps.length;
        expect(direct).toBeCloseTo(plan.cost, 6);
        expect(plan.warmUntil).toBeLessThanOrEqual(m.maxWarm);
        if (plan.prewarmAt > plan.warmFor) expect(plan.warmUntil).toBeGreaterThanOrEqual(plan.prewarmAt + m.lead);
      }),
      { numRuns: 60 },
    );
  });

  it("property: with weights, and with U fixed, it still matches brute force", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 6 }),
        model,
        fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        (pairs, m, warmFor) => {
          const sortedPairs = [...pairs].sort((a, b) => a[0] - b[0]);
          const mm = { ...m, maxWarm: Infinity, warmFor };
          const plan = optimalPlan(sortedPairs.map((p) => p[0]), mm, sortedPairs.map((p) => p[1]));
          expect(plan.cost).toBeCloseTo(bruteForce(pairs.map((p) => p[0]), pairs.map((p) => p[1]), mm, 22), 6);
          if (warmFor !== undefined) expect(plan.warmFor).toBe(warmFor);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("unloads between two clusters and pre-warms for the second", () => {
    // Half the gaps are a minute, half are 8 hours: hold for the minute, drop, come back at 8 h.
    const gaps = [...Array(10).fill(MINUTE), ...Array(10).fill(8 * HOUR)];
    const m = { hold: 22_700 / (23 * GiB * 4 * HOUR) * 23 * GiB, loadPenalty: 22_700, lead: 45_000, maxWarm: 24 * HOUR };
    expect(optimalPlan(gaps, m)).toMatchObject({ warmFor: MINUTE, prewarmAt: 8 * HOUR - 45_000, warmUntil: 8 * HOUR });
    expect(optimalPlan([], m)).toEqual({ warmFor: 0, prewarmAt: 0, warmUntil: 0, cost: 0 });
  });
});

describe("time-of-day gaps", () => {
  const at = (day: number, hour: number, minute = 0) => Date.UTC(2024, 10, 15 + day, hour, minute);

  it("measures time-of-day distance and offset around midnight", () => {
    expect(timeOfDayDistance(at(0, 23, 30), at(3, 0, 30))).toBe(HOUR);
    expect(timeOfDayOffset(at(0, 23, 30), at(3, 0, 30))).toBe(-HOUR);
    expect(timeOfDayOffset(at(5, 1), at(0, 23))).toBe(2 * HOUR);
    expect(timeOfDayDistance(at(0, 12), at(9, 0))).toBe(DAY / 2);
  });

  it("keeps gaps that began near the same time of day, and dates long ones by their hour of return", () => {
    const starts = [at(0, 7), at(1, 9), at(2, 14), at(3, 6, 30)];
    const gaps = [9 * HOUR, 7 * HOUR, 10 * MINUTE, 5 * MINUTE];
    // Now 08:00: the 07:00 and 09:00 lulls both ended at 16:00, i.e. 8 h from now; the 06:30 pause stays 5 min.
    expect(gapsNearTimeOfDay(gaps, starts, at(4, 8), 2 * HOUR, 2 * HOUR)).toEqual([8 * HOUR, 8 * HOUR, 5 * MINUTE]);
    expect(gapsNearTimeOfDay(gaps, starts, at(4, 8), 2 * HOUR)).toEqual([9 * HOUR, 7 * HOUR, 5 * MINUTE]);
    expect(() => gapsNearTimeOfDay(gaps, starts.slice(1), at(4, 8), HOUR)).toThrow(RangeError);
  });

  it("property: a shifted gap ends at the time of day its original ended", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * DAY }), fc.integer({ min: 3 * HOUR, max: 20 * HOUR }), fc.integer({ min: -2 * HOUR, max: 2 * HOUR }), (start, gap, delta) => {
        const since = start + 3 * DAY + delta;
        const [shifted] = gapsNearTimeOfDay([gap], [start], since, 2 * HOUR, HOUR);
        expect(timeOfDayDistance(since + shifted, start + gap)).toBeLessThan(1e-6);
      }),
    );
  });

  it("learns a daily lull online: pre-warms for the usual hour of return, and only from gaps already seen", () => {
    // 14 days: busy from 16:00 to 07:00 with a request every 5 min, idle from 07:00 to 16:00.
    const idleGaps: number[] = [];
    const idleStarts: number[] = [];
    for (let d = 0; d < 14; d++) {
      for (let h = 16; h < 31; h++) {
        for (let k = 0; k < 12; k++) {
          idleStarts.push(at(d, h, k * 5));
          idleGaps.push(h === 30 && k === 11 ? 9 * HOUR + 5 * MINUTE : 5 * MINUTE);
        }
      }
    }
    const input = { idleGaps, idleStarts, loadTime: 20_000, size: 23 * GiB, idleSince: at(14, 7, 0) };
    const w = berthWindows(input);
    expect(w.mode).toBe("Prewarm");
    // The model is warm again by 16:00 and the window covers it.
    expect(input.idleSince + w.prewarm + 2 * 20_000).toBeLessThanOrEqual(at(14, 16, 0));
    expect(input.idleSince + w.keepAlive).toBeGreaterThanOrEqual(at(14, 16, 0));
    // At 22:00 the same model is in its busy hours: hold through the pauses, no pre-warm needed.
    const evening = berthWindows({ ...input, idleSince: at(14, 22) });
    expect(evening.prewarm).toBeLessThanOrEqual(evening.warmFor ?? 0);
    expect(evening.keepAlive).toBeGreaterThanOrEqual(5 * MINUTE);
    // Without the time of day the overnight lull (1 gap in 180) is not worth a pre-warm at 07:00's hour.
    expect(berthWindows({ ...input, idleStarts: undefined })).toEqual(berthWindows({ idleGaps, loadTime: 20_000, size: 23 * GiB }));
    // Deterministic and pure: the same input gives the same windows, and the input is not changed.
    const copy = structuredClone(input);
    expect(berthWindows(copy)).toEqual(w);
    expect(copy).toEqual(input);
  });

  it("uses all gaps when too few began near this time of day", () => {
    const o = { ...defaultBerthKeepAliveOptions, timeOfDaySamples: 50 };
    const gaps = Array(20).fill(2 * MINUTE);
    const starts = gaps.map((_, i) => at(i, 12));
    expect(berthWindows({ idleGaps: gaps, idleStarts: starts, idleSince: at(30, 0), loadTime: 20_000, size: 23 * GiB }, o)).toEqual(
      berthWindows({ idleGaps: gaps, loadTime: 20_000, size: 23 * GiB }, o),
    );
  });
});
