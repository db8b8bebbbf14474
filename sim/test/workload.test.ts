import fc from "fast-check";
import { rngFromSeed } from "@berth/core/random/rng";
import { describe, expect, it } from "vitest";
import type { Distribution } from "../src/scenario/distribution.js";
import { compile, meanOf, poisson } from "../src/workload/distribution.js";
import { Ring } from "../src/run/ring.js";
import { percentiles } from "../src/run/metrics.js";

const sampleMean = (d: Distribution, n = 20_000, seed = 1): number => {
  const draw = compile(d);
  const rng = rngFromSeed(seed);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += draw(rng);
  return sum / n;
};

describe("distributions", () => {
  it.each<[string, Distribution]>([
    ["constant", { kind: "constant", value: 5000 }],
    ["uniform", { kind: "uniform", min: 1000, max: 3000 }],
    ["exponential", { kind: "exponential", mean: 20_000 }],
    ["lognormal", { kind: "lognormal", median: 10_000, sigma: 0.5 }],
    ["empirical", { kind: "empirical", values: [1, 2, 3, 10] }],
  ])("%s draws have the analytic mean", (_name, d) => {
    expect(sampleMean(d)).toBeCloseTo(meanOf(d), -Math.floor(Math.log10(meanOf(d))) + 1);
  });

  it("draws are never negative and reproducible from the seed", () => {
    fc.assert(fc.property(fc.integer(), fc.double({ min: 0, max: 3, noNaN: true }), (seed, sigma) => {
      const d: Distribution = { kind: "lognormal", median: 1000, sigma };
      const a = compile(d), b = compile(d);
      const ra = rngFromSeed(seed), rb = rngFromSeed(seed);
      for (let i = 0; i < 20; i++) {
        const x = a(ra);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(b(rb)).toBe(x);
      }
    }));
  });

  it("measured data must be loaded before it is drawn from", () => {
    expect(() => compile({ kind: "measured", file: "x.csv", column: "v", unit: "ms", scale: 1 })).toThrow(/not loaded/);
    const draw = compile({ kind: "measured", file: "x.csv", column: "v", unit: "s", scale: 2 }, new Map([["x.csv#v", [1, 1]]]));
    expect(draw(rngFromSeed(1))).toBe(2000);
  });

  it("poisson counts have the mean asked for, small and large", () => {
    for (const mean of [0.3, 4, 200]) {
      const rng = rngFromSeed(3);
      let sum = 0;
      for (let i = 0; i < 20_000; i++) sum += poisson(mean, rng);
      expect(sum / 20_000).toBeCloseTo(mean, mean < 1 ? 1 : 0);
    }
    expect(poisson(0, rngFromSeed(1))).toBe(0);
  });
});

describe("Ring and percentiles", () => {
  it("keeps the last items in order", () => {
    fc.assert(fc.property(fc.array(fc.integer()), fc.integer({ min: 0, max: 10 }), (xs, cap) => {
      const r = new Ring<number>(cap);
      xs.forEach((x) => r.push(x));
      expect(r.toArray()).toEqual(cap === 0 ? [] : xs.slice(-cap));
      expect(r.droppedCount).toBe(Math.max(0, xs.length - cap));
    }));
  });

  it("nearest-rank percentiles", () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(p).toMatchObject({ count: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(percentiles([])).toMatchObject({ count: 0, p50: 0 });
  });
});
