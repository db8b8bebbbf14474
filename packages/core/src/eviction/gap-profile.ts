// An online summary of idle gaps for Berth's keep-alive, cheap to query by time of day.
//
// Berth plans from the gaps that began near the current time of day, with the long ones moved
// to end at their hour of return (keepalive-time-of-day.ts). Filtering and sorting the whole
// history at every decision costs O(n log n); here a decision costs O(bins + long gaps):
// - gaps are binned on a fixed log-spaced grid (5% wide: the plan's windows move by at most
//   that), each bin keeping a weight and a weighted sum, so its mean is exact;
// - short gaps (<= `shiftAbove`) are never shifted, so they are kept per hour of day as
//   cumulative sums over hours: a window of hours is two subtractions per bin;
// - long gaps are few (a few percent of gaps), and their shift depends on the exact offset,
//   so they are kept as a list and shifted at query time.
// The same structure serves one lease or the whole fleet (the pooled prior).
import type { DurationMs, EpochMs } from "../units.js";
import { DAY } from "./keepalive-time-of-day.js";

const HOUR_MS = 3_600_000;
const HOURS = 24;
/** Gaps under a second share bin 0; above it, each bin is 5% wider than the one before. */
const FIRST_EDGE = 1000;
const GROWTH = Math.log(1.05);
/** Bins up to 30 days; longer gaps share the last bin. */
export const GAP_BINS = 2 + Math.ceil(Math.log((30 * DAY) / FIRST_EDGE) / GROWTH);

export const gapBin = (gap: DurationMs): number =>
  gap < FIRST_EDGE ? 0 : Math.min(GAP_BINS - 1, 1 + Math.floor(Math.log(gap / FIRST_EDGE) / GROWTH));

/** A weighted empirical distribution on the bin grid: `weight[b]` and `sum[b]` (weight x gap). */
export interface BinnedGaps {
  readonly weight: Float64Array;
  readonly sum: Float64Array;
}

export const emptyBinnedGaps = (): BinnedGaps => ({ weight: new Float64Array(GAP_BINS), sum: new Float64Array(GAP_BINS) });

const timeOfDay = (t: EpochMs): number => ((t % DAY) + DAY) % DAY;
const hourOf = (t: EpochMs): number => Math.min(HOURS - 1, Math.floor(timeOfDay(t) / HOUR_MS));

/** Index of the first element of `sorted` not less than `x` (upper: greater than `x`). */
const lowerBound = (sorted: readonly number[], x: number): number => {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
const upperBound = (sorted: readonly number[], x: number): number => {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

export class GapProfile {
  /** Weighted count of every gap so far (short and long). */
  total = 0;
  /** Every gap, unshifted (for the single keep-alive over all gaps). */
  readonly all: BinnedGaps = emptyBinnedGaps();
  /** cumWeight[h * GAP_BINS + b]: weight of short gaps in bin b that began in hours < h. */
  private readonly cumWeight = new Float64Array((HOURS + 1) * GAP_BINS);
  private readonly cumSum = new Float64Array((HOURS + 1) * GAP_BINS);
  /** Long gaps, ordered by their start's time of day (so a window of hours is a range of them). */
  private readonly longStartTod: number[] = [];
  private readonly longGaps: DurationMs[] = [];
  private readonly longWeights: number[] = [];

  /** The bins short gaps have reached (queries scan only these). */
  private lowBin = GAP_BINS;
  private highBin = -1;

  constructor(readonly shiftAbove: DurationMs) {}

  add(start: EpochMs, gap: DurationMs, weight = 1): void {
    const g = Math.max(0, gap);
    const b = gapBin(g);
    this.total += weight;
    this.all.weight[b] += weight;
    this.all.sum[b] += weight * g;
    if (g > this.shiftAbove) {
      const tod = timeOfDay(start);
      const at = upperBound(this.longStartTod, tod);
      this.longStartTod.splice(at, 0, tod);
      this.longGaps.splice(at, 0, g);
      this.longWeights.splice(at, 0, weight);
      return;
    }
    this.lowBin = Math.min(this.lowBin, b);
    this.highBin = Math.max(this.highBin, b);
    for (let h = hourOf(start) + 1; h <= HOURS; h++) {
      this.cumWeight[h * GAP_BINS + b] += weight;
      this.cumSum[h * GAP_BINS + b] += weight * g;
    }
  }

  /**
   * Adds `scale` x the gaps that began within `halfWindowHours` whole hours of `since`'s hour
   * of day to `into`, long ones moved to end at their time of day of return; returns the
   * weight added (before scaling).
   */
  addNearTimeOfDay(into: BinnedGaps, since: EpochMs, halfWindowHours: number, scale = 1): number {
    let added = 0;
    const half = Math.min(halfWindowHours, HOURS / 2);
    const first = hourOf(since) - half;
    const last = hourOf(since) + half;
    // Up to two ranges of hours [from, to) on the circle.
    const ranges: [number, number][] = half * 2 + 1 >= HOURS ? [[0, HOURS]]
      : first < 0 ? [[first + HOURS, HOURS], [0, last + 1]]
      : last >= HOURS ? [[first, HOURS], [0, last + 1 - HOURS]]
      : [[first, last + 1]];
    for (const [from, to] of ranges) {
      const lo = from * GAP_BINS, hi = to * GAP_BINS;
      for (let b = this.lowBin; b <= this.highBin; b++) {
        const w = this.cumWeight[hi + b] - this.cumWeight[lo + b];
        if (w <= 1e-12) continue;
        added += w;
        into.weight[b] += scale * w;
        into.sum[b] += scale * (this.cumSum[hi + b] - this.cumSum[lo + b]);
      }
    }
    // Long gaps that began in the same hours, shifted by their exact offset to their hour of return.
    const sinceTod = timeOfDay(since);
    for (const [from, to] of ranges) {
      const end = lowerBound(this.longStartTod, to * HOUR_MS);
      for (let i = lowerBound(this.longStartTod, from * HOUR_MS); i < end; i++) {
        let offset = this.longStartTod[i] - sinceTod;
        if (offset > DAY / 2) offset -= DAY;
        else if (offset <= -DAY / 2) offset += DAY;
        const shifted = Math.max(0, this.longGaps[i] + offset);
        const w = this.longWeights[i];
        const b = gapBin(shifted);
        added += w;
        into.weight[b] += scale * w;
        into.sum[b] += scale * w * shifted;
      }
    }
    return added;
  }

  /**
   * Like addNearTimeOfDay, but a gap that began d whole hours from `since`'s hour weighs
   * (H + 1 - d) / (H + 1), H = `halfWindowHours`: the nearer in the day it began, the more it
   * says about this idle period. Built as the mean of the windows of 0..H hours. Returns the
   * weight added (before scaling).
   */
  addNearTimeOfDayTapered(into: BinnedGaps, since: EpochMs, halfWindowHours: number, scale = 1): number {
    const windows = Math.min(halfWindowHours, HOURS / 2) + 1;
    let added = 0;
    for (let r = 0; r < windows; r++) added += this.addNearTimeOfDay(into, since, r, scale / windows) / windows;
    return added;
  }
}

/** Adds `scale` x `from` to `into`. */
export const addBinned = (into: BinnedGaps, from: BinnedGaps, scale = 1): void => {
  for (let b = 0; b < GAP_BINS; b++) {
    if (from.weight[b] === 0) continue;
    into.weight[b] += scale * from.weight[b];
    into.sum[b] += scale * from.sum[b];
  }
};

/** The non-empty bins as ascending gap values (each bin's weighted mean) and their weights. */
export const binnedSupport = (g: BinnedGaps): { values: number[]; weights: number[] } => {
  const values: number[] = [];
  const weights: number[] = [];
  for (let b = 0; b < GAP_BINS; b++) {
    const w = g.weight[b];
    if (!(w > 1e-12)) continue;
    // The mean stays inside its bin, so the values ascend.
    values.push(g.sum[b] / w);
    weights.push(w);
  }
  return { values, weights };
};
