import type { Rng } from "@berth/core/random/rng";
import type { Distribution } from "../scenario/distribution.js";

/** Values of measured columns, keyed by `measuredKey`, read when a scenario is resolved. */
export type MeasuredData = ReadonlyMap<string, readonly number[]>;

export const measuredKey = (file: string, column: string): string => `${file}#${column}`;

/** A compiled distribution: draws one duration (ms, never negative) from the random source. */
export type Draw = (rng: Rng) => number;

/** Standard normal by Box-Muller (one of the pair; simple beats fast here). */
const standardNormal = (rng: Rng): number => {
  const u = 1 - rng.next(); // (0, 1]: log stays finite
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

/** Compiles a distribution once, so the hot path does not switch on its kind. */
export const compile = (d: Distribution, measured: MeasuredData = new Map()): Draw => {
  switch (d.kind) {
    case "constant": {
      const v = d.value;
      return () => v;
    }
    case "uniform": {
      const { min, max } = d;
      return (rng) => min + (max - min) * rng.next();
    }
    case "exponential": {
      const mean = d.mean;
      return (rng) => -mean * Math.log(1 - rng.next());
    }
    case "lognormal": {
      const mu = Math.log(Math.max(d.median, 1e-9));
      const sigma = d.sigma;
      return (rng) => Math.exp(mu + sigma * standardNormal(rng));
    }
    case "empirical": {
      const values = d.values;
      return (rng) => values[rng.int(values.length)];
    }
    case "measured": {
      const values = measured.get(measuredKey(d.file, d.column));
      if (values === undefined || values.length === 0) throw new Error(`measured data ${d.file}#${d.column} was not loaded (resolve the scenario first)`);
      const factor = (d.unit === "s" ? 1000 : 1) * d.scale;
      return (rng) => values[rng.int(values.length)] * factor;
    }
  }
};

/** The distribution's mean (analytic where there is a formula), e.g. a service time for Little's law. */
export const meanOf = (d: Distribution, measured: MeasuredData = new Map()): number => {
  const average = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length);
  switch (d.kind) {
    case "constant": return d.value;
    case "uniform": return (d.min + d.max) / 2;
    case "exponential": return d.mean;
    case "lognormal": return d.median * Math.exp((d.sigma * d.sigma) / 2);
    case "empirical": return average(d.values);
    case "measured": return average(measured.get(measuredKey(d.file, d.column)) ?? []) * (d.unit === "s" ? 1000 : 1) * d.scale;
  }
};

/** Poisson-distributed count with mean `mean` (Knuth for small means, a rounded normal for large). */
export const poisson = (mean: number, rng: Rng): number => {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * standardNormal(rng)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) { k++; p *= rng.next(); }
  return k;
};
