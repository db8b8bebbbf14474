import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HOUR, MINUTE, type KeepAliveInput, type KeepAliveWindows } from "../../src/eviction/keepalive.js";
import { berthWindows, defaultBerthKeepAliveOptions, memoryPrice } from "../../src/eviction/keepalive-berth.js";
import { pooledBerthKeepAlive, weightedKeepAlive } from "../../src/eviction/keepalive-berth-pooled.js";
import { emptyBinnedGaps, GAP_BINS, gapBin, GapProfile } from "../../src/eviction/gap-profile.js";
import { DAY, timeOfDayOffset } from "../../src/eviction/keepalive-time-of-day.js";
import { GiB } from "../../src/units.js";

const at = (day: number, hour: number, minute = 0) => Date.UTC(2024, 10, 15 + day, hour, minute);
const hourOfDay = (t: number) => Math.floor((((t % DAY) + DAY) % DAY) / HOUR);

/** A lease's history as the simulator keeps it: gaps and their starts, one array each, growing. */
const history = (gaps: readonly number[], starts: readonly number[], size = 23 * GiB) => ({ idleGaps: [...gaps], idleStarts: [...starts], loadTime: 20_000, size });
const ask = (p: ReturnType<typeof pooledBerthKeepAlive>, h: ReturnType<typeof history>, idleSince: number): KeepAliveWindows => p.windows({ ...h, idleSince });
/**
 * Whether a plan has the lease warm when a request comes `gap` after the last use. Plans are
 * chosen on 5%-wide bins of gaps, so a pre-warm aims at its bin's mean: it counts when ready
 * within 5% of `gap`.
 */
const catches = (w: KeepAliveWindows, gap: number, lead: number) =>
  w.prewarm > (w.warmFor ?? 0)
    ? gap <= (w.warmFor ?? 0) || (Math.abs(w.prewarm + lead - gap) <= 0.05 * gap && w.keepAlive >= w.prewarm + lead)
    : gap <= w.keepAlive;

describe("gap profile (binned, by hour of day)", () => {
  it("property: a window of hours holds exactly the gaps that began in those hours, long ones shifted to their hour of return", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 * DAY }), fc.integer({ min: 0, max: 30 * HOUR })), { maxLength: 60 }),
        fc.integer({ min: 21 * DAY, max: 22 * DAY }),
        fc.integer({ min: 0, max: 12 }),
        (pairs, since, half) => {
          const profile = new GapProfile(2 * HOUR);
          for (const [start, gap] of pairs) profile.add(start, gap);
          const got = emptyBinnedGaps();
          const weight = profile.addNearTimeOfDay(got, since, half);
          const want = emptyBinnedGaps();
          let count = 0;
          for (const [start, gap] of pairs) {
            const d = Math.abs(hourOfDay(start) - hourOfDay(since));
            if (Math.min(d, 24 - d) > half) continue;
            const g = gap > 2 * HOUR ? Math.max(0, gap + timeOfDayOffset(start, since)) : gap;
            want.weight[gapBin(g)]++;
            want.sum[gapBin(g)] += g;
            count++;
          }
          expect(weight).toBeCloseTo(count, 9);
          for (let b = 0; b < GAP_BINS; b++) {
            expect(got.weight[b]).toBeCloseTo(want.weight[b], 9);
            expect(got.sum[b]).toBeCloseTo(want.sum[b], 0);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("property: the tapered window weighs a gap that began d hours off by (H + 1 - d) / (H + 1)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 * DAY }), fc.integer({ min: 0, max: 30 * HOUR })), { maxLength: 40 }),
        fc.integer({ min: 21 * DAY, max: 22 * DAY }),
        fc.integer({ min: 0, max: 8 }),
        (pairs, since, half) => {
          const profile = new GapProfile(2 * HOUR);
          for (const [start, gap] of pairs) profile.add(start, gap);
          const got = emptyBinnedGaps();
          const weight = profile.addNearTimeOfDayTapered(got, since, half, 2);
          const want = emptyBinnedGaps();
          let total = 0;
          for (const [start, gap] of pairs) {
            const d0 = Math.abs(hourOfDay(start) - hourOfDay(since));
            const d = Math.min(d0, 24 - d0);
            if (d > half) continue;
            const w = (half + 1 - d) / (half + 1);
            const g = gap > 2 * HOUR ? Math.max(0, gap + timeOfDayOffset(start, since)) : gap;
            want.weight[gapBin(g)] += 2 * w;
            want.sum[gapBin(g)] += 2 * w * g;
            total += w;
          }
          expect(weight).toBeCloseTo(total, 9);
          for (let b = 0; b < GAP_BINS; b++) {
            expect(got.weight[b]).toBeCloseTo(want.weight[b], 9);
            expect(got.sum[b]).toBeCloseTo(want.sum[b], 0);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("bins are at most 5% wide, ascending, and hold sub-second gaps together", () => {
    expect(gapBin(0)).toBe(0);
    expect(gapBin(999)).toBe(0);
    for (const g of [1_000, 59_000, HOUR, 7 * HOUR, 3 * DAY]) {
      expect(gapBin(g * 1.06)).toBeGreaterThan(gapBin(g));
      expect(gapBin(g + 1)).toBeGreaterThanOrEqual(gapBin(g));
    }
    expect(gapBin(365 * DAY)).toBe(GAP_BINS - 1);
  });
});

describe("weighted keep-alive", () => {
  it("property: is the least-cost T over a fine grid, for weighted gaps", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 6 * HOUR }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.double({ min: 0.01, max: 5, noNaN: true }), { minLength: 30, maxLength: 30 }),
        fc.double({ min: 1e-6, max: 1e-2, noNaN: true }),
        (raw, ws, hold) => {
          const values = [...raw].sort((a, b) => a - b);
          const weights = values.map((_, i) => ws[i]);
          const t = weightedKeepAlive(values, weights, hold, 20_000, 24 * HOUR);
          const cost = (T: number) => values.reduce((s, g, i) => s + weights[i] * (hold * Math.min(g, T) + (g > T ? 20_000 : 0)), 0);
          expect(t === 0 || values.includes(t)).toBe(true);
          for (const T of [0, ...values, ...values.map((g) => g + 1), 7 * HOUR]) expect(cost(t)).toBeLessThanOrEqual(cost(T) * (1 + 1e-9) + 1e-9);
        },
      ),
    );
  });
});

describe("berth keep-alive with a pooled fleet prior", () => {
  const o = defaultBerthKeepAliveOptions;
  const alone = { ...o, fleetPrior: 0 };
  const lead = o.leadLoads * 20_000;
  // The fleet: four leases used once a day around 09:00 and again around 18:00: idle 9 h from
  // 09:00, 15 h from 18:00. Holding 9 h is not worth a reload at a 4 h break-even; a pre-warm is.
  const dailyFleet = () => Array.from({ length: 4 }, (_, l) => {
    const starts: number[] = [];
    const gaps: number[] = [];
    for (let d = 0; d < 10; d++) {
      starts.push(at(d, 9, l), at(d, 18, l));
      gaps.push(9 * HOUR, 15 * HOUR);
    }
    return history(gaps, starts);
  });
  const learnFleet = (p: ReturnType<typeof pooledBerthKeepAlive>) => {
    for (const h of dailyFleet()) ask(p, h, at(10, 9));
  };
  // Six 1-minute gaps just before 10:00; now idle since 10:00. The fleet's users come back at 18:00.
  const sparseStarts = Array.from({ length: 6 }, (_, i) => at(11, 9, i * 2));
  const untilReturn = 8 * HOUR + 2 * MINUTE;

  it("a sparse lease inherits the fleet's behaviour: it is warm again for the fleet's 18:00 return that its own six gaps never showed", () => {
    const sparse = history(sparseStarts.map(() => MINUTE), sparseStarts);
    const pooled = pooledBerthKeepAlive(o);
    learnFleet(pooled);
    const mine = ask(pooled, sparse, at(11, 10));
    expect(mine.mode).toBe("Prewarm");
    expect(catches(mine, untilReturn, lead)).toBe(true);
    expect(catches(mine, MINUTE, lead)).toBe(true);
    // On its own gaps alone it keeps a minute and lets the 18:00 return go cold.
    const solo = pooledBerthKeepAlive(alone);
    learnFleet(solo);
    const own = ask(solo, sparse, at(11, 10));
    expect(own).toMatchObject({ prewarm: 0, mode: "CostOptimal" });
    expect(own.keepAlive).toBeGreaterThanOrEqual(MINUTE);
    expect(own.keepAlive).toBeLessThan(2 * MINUTE);
    expect(catches(own, untilReturn, lead)).toBe(false);
    // With no history at all, the fleet alone plans for it.
    const fresh = ask(pooled, history([], []), at(11, 10));
    expect(fresh.mode).toBe("Prewarm");
    expect(catches(fresh, untilReturn, lead)).toBe(true);
  });

  it("a lease with many gaps is dominated by its own: it holds for its own minute, as it would alone", () => {
    const starts = Array.from({ length: 600 }, (_, i) => at(11, 0) + i * 2 * MINUTE);
    const busy = history(starts.map(() => MINUTE), starts);
    const warm = (w: KeepAliveWindows) => (w.prewarm > (w.warmFor ?? 0) ? w.warmFor ?? 0 : w.keepAlive);
    const pooled = pooledBerthKeepAlive(o);
    learnFleet(pooled);
    const solo = pooledBerthKeepAlive(alone);
    learnFleet(solo);
    const mine = ask(pooled, busy, at(12, 10));
    expect(warm(mine)).toBeCloseTo(warm(ask(solo, busy, at(12, 10))), 3);
    expect(warm(mine)).toBeLessThan(2 * MINUTE);
    // The fleet's 18:00 returns weigh 10 gaps against its 600: never hours of holding.
    expect(mine.mode === "Prewarm" ? mine.keepAlive - mine.prewarm : mine.keepAlive).toBeLessThan(HOUR);
    // A sparse lease with the same gaps, by contrast, follows the fleet.
    const sparse = history(sparseStarts.map(() => MINUTE), sparseStarts);
    expect(ask(pooled, sparse, at(11, 10)).mode).toBe("Prewarm");
  });

  it("is deterministic, ingests each history once, and leaves its inputs alone", () => {
    const run = () => {
      const p = pooledBerthKeepAlive(o);
      const out: KeepAliveWindows[] = [];
      const fleet = dailyFleet();
      for (const h of fleet) out.push(ask(p, h, at(7, 0)));
      // A history grows between decisions, as the simulator's does.
      const h = history([], []);
      for (let i = 0; i < 30; i++) {
        const start = at(8, 0) + i * 37 * MINUTE;
        h.idleGaps.push(i % 5 === 0 ? 3 * HOUR : 4 * MINUTE);
        h.idleStarts.push(start);
        out.push(ask(p, h, start + 40 * MINUTE));
      }
      return out;
    };
    expect(run()).toEqual(run());
    const p = pooledBerthKeepAlive(o);
    const h = history([MINUTE, 2 * MINUTE, 3 * MINUTE, 20 * MINUTE, MINUTE, 2 * HOUR], sparseStarts);
    const copy = structuredClone(h);
    const first = ask(p, h, at(8, 10));
    // Asking again about the same history does not count its gaps twice.
    expect(ask(p, h, at(8, 10))).toEqual(first);
    expect(h).toEqual(copy);
  });

  it("holds through a daytime pause by the day's gaps, not the night's: U comes from the gaps near this time of day", () => {
    // 14 days: short pauses (20-90 min) from 08:00 to about 16:00, back at 20:00, then
    // 3.5-4.5 h between uses through the night. A third of all gaps are about 4 h long.
    const gaps: number[] = [];
    const starts: number[] = [];
    for (let d = 0; d < 14; d++) {
      let t = at(d, 8);
      for (let i = 0; t < at(d, 15, 30); i++) {
        const g = (20 + ((d * 7 + i * 37) % 71)) * MINUTE;
        starts.push(t);
        gaps.push(g);
        t += g;
      }
      starts.push(t, at(d, 20), at(d, 23, 30), at(d + 1, 3, 30));
      gaps.push(at(d, 20) - t, 3.5 * HOUR, 4 * HOUR, 4.5 * HOUR);
    }
    const holds = (w: KeepAliveWindows) => (w.prewarm > (w.warmFor ?? 0) ? w.warmFor ?? 0 : w.keepAlive);
    const noon = { ...history(gaps, starts), idleSince: at(14, 12) };
    const byTime = pooledBerthKeepAlive(alone).windows(noon);
    // At noon it holds through the daytime pauses (up to 90 min), and no longer.
    expect(holds(byTime)).toBeGreaterThanOrEqual(85 * MINUTE);
    expect(holds(byTime)).toBeLessThan(2 * HOUR);
    // Planned from all gaps, the night's 4 h lulls make holding 4.5 h look cheaper at noon too.
    const allDay = pooledBerthKeepAlive({ ...alone, warmFromAllGaps: true }).windows(noon);
    expect(holds(allDay)).toBeGreaterThanOrEqual(4 * HOUR);
    // The exact form agrees.
    expect(holds(berthWindows(noon, alone))).toBeGreaterThanOrEqual(85 * MINUTE);
    expect(holds(berthWindows(noon, alone))).toBeLessThan(2 * HOUR);
    // At 23:30 the next gap is the night's 4 h: the lease is warm for the return, whether held or pre-warmed.
    const night = pooledBerthKeepAlive(alone).windows({ ...noon, idleSince: at(14, 23, 30) });
    expect(Math.max(holds(night), night.keepAlive)).toBeGreaterThanOrEqual(4 * HOUR);
    expect(night.prewarm > (night.warmFor ?? 0) ? night.prewarm + lead : 0).toBeLessThanOrEqual(4 * HOUR + 1);
  });

  it("learns a daily lull online from the lease's own gaps (no fleet): pre-warms for the usual hour of return", () => {
    // 14 days: busy from 16:00 to 07:00 with a request every 5 min, idle from 07:00 to 16:00.
    const gaps: number[] = [];
    const starts: number[] = [];
    for (let d = 0; d < 14; d++)
      for (let h = 16; h < 31; h++)
        for (let k = 0; k < 12; k++) {
          starts.push(at(d, h, k * 5));
          gaps.push(h === 30 && k === 11 ? 9 * HOUR + 5 * MINUTE : 5 * MINUTE);
        }
    const p = pooledBerthKeepAlive(alone);
    const input: KeepAliveInput = { ...history(gaps, starts), idleSince: at(14, 7) };
    const w = p.windows(input);
    expect(w.mode).toBe("Prewarm");
    expect(at(14, 7) + w.prewarm + lead).toBeLessThanOrEqual(at(14, 16) + 0.05 * 9 * HOUR);
    expect(at(14, 7) + w.keepAlive).toBeGreaterThanOrEqual(at(14, 16));
    const evening = p.windows({ ...input, idleSince: at(14, 22) });
    expect(evening.prewarm).toBeLessThanOrEqual(evening.warmFor ?? 0);
    expect(evening.keepAlive).toBeGreaterThanOrEqual(5 * MINUTE);
    // The memory price is the one berthWindows uses.
    expect(memoryPrice(alone)).toBe(memoryPrice(o));
  });
});
