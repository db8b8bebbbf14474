import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HOUR, MINUTE } from "../../src/eviction/keepalive.js";
import { fixed, untilNeeded } from "../../src/eviction/keepalive-fixed.js";
import { defaultHybridOptions, hybridWindows, smoothedForecast } from "../../src/eviction/keepalive-hybrid.js";
import { addIdleTime, binCv, emptyIdleHistogram, histogramOf, percentileBin } from "../../src/eviction/idle-histogram.js";
import { berthWindows, contextGaps, costOptimalKeepAlive, defaultBerthKeepAliveOptions, memoryPrice } from "../../src/eviction/keepalive-berth.js";
import { keepAlivePolicy, keepAlivePolicyNames } from "../../src/eviction/keepalive-registry.js";
import { GiB } from "../../src/units.js";

const input = (idleGaps: number[], over: object = {}) => ({ idleGaps, loadTime: 20_000, size: 23 * GiB, ...over });

describe("fixed keep-alive", () => {
  it("keeps warm for its ttl, with no pre-warming", () => {
    expect(fixed(10 * MINUTE).windows(input([1, 2, 3]))).toEqual({ prewarm: 0, keepAlive: 10 * MINUTE, mode: "Fixed" });
    expect(untilNeeded().windows(input([])).keepAlive).toBe(Infinity);
    expect(() => fixed(-1)).toThrow(RangeError);
  });
});

describe("idle histogram", () => {
  it("bins idle times by minute over 4 hours and counts the rest out of bounds", () => {
    let h = emptyIdleHistogram(4 * HOUR, MINUTE);
    for (const idle of [0, 30_000, 90_000, 4 * HOUR - 1, 4 * HOUR, 9 * HOUR]) h = addIdleTime(h, idle);
    expect(h.counts.length).toBe(240);
    expect([h.counts[0], h.counts[1], h.counts[239]]).toEqual([2, 1, 1]);
    expect([h.inBounds, h.outOfBounds]).toEqual([4, 2]);
    expect(histogramOf([0, 30_000, 90_000, 4 * HOUR - 1, 4 * HOUR, 9 * HOUR], 4 * HOUR, MINUTE)).toEqual(h);
    expect(percentileBin(h, 0.5)).toBe(0);
    expect(percentileBin(h, 0.99)).toBe(239);
    expect(binCv(emptyIdleHistogram(4 * HOUR, MINUTE))).toBe(0);
  });
});

describe("hybrid histogram (Shahrad et al.)", () => {
  it("pre-warms at the head and keeps to the tail, with 10% margins, when the histogram is representative", () => {
    // 100 idle times: 5 at 2 min, 90 at 10 min, 5 at 30 min.
    const gaps = [...Array(5).fill(2.5 * MINUTE), ...Array(90).fill(10.2 * MINUTE), ...Array(5).fill(30.5 * MINUTE)];
    const w = hybridWindows(input(gaps));
    expect(w.mode).toBe("Histogram");
    expect(w.prewarm).toBeCloseTo(2 * MINUTE * 0.9); // head = 5th percentile -> bin 2, its lower edge less 10%
    expect(w.keepAlive).toBeCloseTo(31 * MINUTE * 1.1); // tail = 99th percentile -> bin 30, its upper edge plus 10%
  });

  it("falls back to a 4 h keep-alive without pre-warming when there are too few idle times or the CV is low", () => {
    expect(hybridWindows(input([5 * MINUTE, 6 * MINUTE]))).toEqual({ prewarm: 0, keepAlive: 4 * HOUR, mode: "Uncertain" });
    // Spread evenly over the range: CV near 0.
    const flat = Array.from({ length: 480 }, (_, i) => (i % 240) * MINUTE + 1);
    expect(binCv(histogramOf(flat, 4 * HOUR, MINUTE))).toBeLessThan(0.1);
    expect(hybridWindows(input(flat)).mode).toBe("Uncertain");
  });

  it("forecasts around the next idle time when most idle times exceed the range", () => {
    const gaps = [10 * HOUR, 10 * HOUR, 10 * HOUR, MINUTE];
    const w = hybridWindows(input(gaps));
    expect(w.mode).toBe("OutOfBounds");
    const f = smoothedForecast(gaps, defaultHybridOptions.smoothing);
    expect(w.prewarm).toBeCloseTo(f * 0.85);
    expect(w.keepAlive).toBeCloseTo(f * 1.15);
  });

  it("property: windows lie in [0, 4 h x 1.1], pre-warm before keep-alive, and follow the histogram's head and tail", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 * HOUR - 1 }), { maxLength: 300 }), (gaps) => {
        const w = hybridWindows(input(gaps));
        expect(w.prewarm).toBeGreaterThanOrEqual(0);
        expect(w.keepAlive).toBeLessThanOrEqual(4 * HOUR * 1.1);
        expect(w.prewarm).toBeLessThan(w.keepAlive);
        if (w.mode === "Histogram") {
          const sorted = [...gaps].sort((a, b) => a - b);
          // At least 99% of the idle times end before the keep-alive window does...
          expect(sorted.filter((g) => g < w.keepAlive).length).toBeGreaterThanOrEqual(0.99 * gaps.length);
          // ...and at most 5% (the head) fall before the pre-warm.
          expect(sorted.filter((g) => g < w.prewarm).length).toBeLessThanOrEqual(0.05 * gaps.length);
        } else {
          expect(w).toEqual({ prewarm: 0, keepAlive: 4 * HOUR, mode: "Uncertain" });
        }
      }),
    );
  });
});

describe("berth keep-alive (rent-or-buy)", () => {
  const o = defaultBerthKeepAliveOptions;
  const lead = o.leadLoads * 20_000;

  it("keeps just past a cluster of short gaps, and pre-warms for a long gap it has seen instead of holding through it", () => {
    const short = [...Array(20).fill(2 * MINUTE), 3 * MINUTE, 20 * HOUR];
    expect(berthWindows(input(short))).toEqual({ prewarm: 20 * HOUR - lead, warmFor: 3 * MINUTE, keepAlive: 20 * HOUR, mode: "Prewarm" });
    expect(berthWindows(input(short), { ...o, prewarm: false })).toEqual({ prewarm: 0, keepAlive: 3 * MINUTE, mode: "CostOptimal" });
    // Gaps all 20 h: unload at once, load again just before the 20 h are up.
    expect(berthWindows(input(Array(10).fill(20 * HOUR)))).toEqual({ prewarm: 20 * HOUR - lead, warmFor: 0, keepAlive: 20 * HOUR, mode: "Prewarm" });
    expect(berthWindows(input(Array(10).fill(20 * HOUR)), { ...o, prewarm: false }).keepAlive).toBe(0);
  });

  it("chooses the T that minimises the expected cost, by brute force over a fine grid", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 * HOUR }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1000, max: 60_000 }), fc.integer({ min: 1, max: 47 }), (gaps, load, gib) => {
        const size = gib * GiB;
        const t = costOptimalKeepAlive(gaps, load, size, o);
        const cost = (T: number) => gaps.reduce((s, g) => s + memoryPrice(o) * size * Math.min(g, T) + (g > T ? load : 0), 0) / gaps.length;
        expect(t === 0 || gaps.includes(t)).toBe(true);
        for (const T of [0, ...gaps, ...gaps.map((g) => g + 1), 7 * HOUR]) if (T <= o.maxKeepAlive) expect(cost(t)).toBeLessThanOrEqual(cost(T) + 1e-6);
        expect(costOptimalKeepAlive([...gaps].sort((a, b) => a - b), load, size, o, true)).toBe(t);
      }),
    );
  });

  it("uses the break-even time with too little history: larger models are kept for less", () => {
    const small = berthWindows(input([MINUTE], { size: 10 * GiB }));
    const large = berthWindows(input([MINUTE], { size: 40 * GiB }));
    expect(small.mode).toBe("NoHistory");
    // A cold start is priced at the reference load, not the lease's few measured loads.
    expect(small.keepAlive).toBeCloseTo(o.referenceLoad / (memoryPrice(o) * 10 * GiB));
    expect(berthWindows(input([MINUTE], { size: 10 * GiB }), { ...o, referencePenalty: false }).keepAlive).toBeCloseTo(20_000 / (memoryPrice(o) * 10 * GiB));
    expect(large.keepAlive).toBeLessThan(small.keepAlive);
  });

  it("can condition on the latest gap's class", () => {
    const gaps = [MINUTE, 2 * HOUR, MINUTE, 2 * HOUR, MINUTE, 2 * HOUR, MINUTE];
    // After a short gap came long ones.
    expect(contextGaps(gaps, [10 * MINUTE], 3)).toEqual([2 * HOUR, 2 * HOUR, 2 * HOUR]);
    expect(contextGaps(gaps, [], 3)).toBe(gaps);
    expect(contextGaps(gaps, [10 * MINUTE], 10)).toBe(gaps);
  });
});

describe("keep-alive registry", () => {
  it("has every policy by name, and fixed-<n>m for any n", () => {
    expect(keepAlivePolicyNames).toEqual(["fixed-10m", "fixed-20m", "hybrid", "berth", "until-needed"]);
    for (const n of keepAlivePolicyNames) expect(keepAlivePolicy(n)?.name).toBe(n);
    expect(keepAlivePolicy("fixed-5m")?.windows(input([])).keepAlive).toBe(5 * MINUTE);
    expect(keepAlivePolicy("nope")).toBeUndefined();
  });
});
