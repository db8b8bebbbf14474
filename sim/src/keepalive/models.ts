// What the trace does not record per model, drawn from what was measured, seeded:
// GPU memory per model from a log-normal fitted to the serving pods' facts (median about
// 23 GiB, maximum about 47 GiB), and each load's duration from the measured load latencies.
import { GiB, type Bytes, type DurationMs } from "@berth/core/units";
import type { Rng } from "@berth/core/random/rng";

export const MEMORY_MEDIAN: Bytes = 23 * GiB;
export const MEMORY_MAX: Bytes = 47 * GiB;
/**
 * Log-normal spread chosen so the largest of the trace's 87 models lands near the measured
 * maximum: the expected maximum of 87 standard normals is about 2.4, and ln(47/23)/2.4 = 0.3.
 */
export const MEMORY_SIGMA = 0.3;

const standardNormal = (rng: Rng): number => {
  // Box-Muller; 1 - next() keeps the logarithm finite.
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

/** One size per model, rounded to whole MiB, redrawn above the measured maximum. */
export const drawModelSizes = (count: number, rng: Rng): Bytes[] =>
  Array.from({ length: count }, () => {
    for (;;) {
      const size = MEMORY_MEDIAN * Math.exp(MEMORY_SIGMA * standardNormal(rng));
      if (size <= MEMORY_MAX) return Math.round(size / (1024 * 1024)) * 1024 * 1024;
    }
  });

/** Draws load times uniformly from the measured ones (the empirical distribution). */
export const loadTimeSampler =
  (measured: readonly DurationMs[], rng: Rng) =>
  (): DurationMs => {
    if (measured.length === 0) throw new RangeError("no measured load latencies");
    return measured[rng.int(measured.length)];
  };

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
