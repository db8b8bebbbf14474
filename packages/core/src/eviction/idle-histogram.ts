// The range-limited idle-time histogram of Shahrad et al. (ATC'20, "Serverless in the
// Wild", section 4.2): fixed-width bins over a bounded range (4 hours of 1-minute bins),
// plus a count of idle times beyond the range ("out of bounds"). Immutable: adding an idle
// time returns a new histogram, so it can live in snapshots.
import type { DurationMs } from "../units.js";

export interface IdleHistogram {
  readonly binWidth: DurationMs;
  /** counts[i] = idle times in [i * binWidth, (i + 1) * binWidth). */
  readonly counts: readonly number[];
  /** Idle times inside the range (the sum of counts). */
  readonly inBounds: number;
  /** Idle times at or beyond the range. */
  readonly outOfBounds: number;
}

export const emptyIdleHistogram = (range: DurationMs, binWidth: DurationMs): IdleHistogram => {
  if (!(binWidth > 0) || !(range >= binWidth)) throw new RangeError(`bad histogram: range ${range}, bin ${binWidth}`);
  return { binWidth, counts: new Array<number>(Math.round(range / binWidth)).fill(0), inBounds: 0, outOfBounds: 0 };
};

export const histogramRange = (h: IdleHistogram): DurationMs => h.counts.length * h.binWidth;

export const addIdleTime = (h: IdleHistogram, idle: DurationMs): IdleHistogram => {
  const bin = Math.floor(Math.max(0, idle) / h.binWidth);
  if (bin >= h.counts.length) return { ...h, outOfBounds: h.outOfBounds + 1 };
  const counts = h.counts.slice();
  counts[bin]++;
  return { ...h, counts, inBounds: h.inBounds + 1 };
};

export const histogramOf = (idleTimes: readonly DurationMs[], range: DurationMs, binWidth: DurationMs): IdleHistogram => {
  const counts = new Array<number>(Math.round(range / binWidth)).fill(0);
  let inBounds = 0;
  let outOfBounds = 0;
  for (const idle of idleTimes) {
    const bin = Math.floor(Math.max(0, idle) / binWidth);
    if (bin >= counts.length) outOfBounds++;
    else {
      counts[bin]++;
      inBounds++;
    }
  }
  return { binWidth, counts, inBounds, outOfBounds };
};

/**
 * Coefficient of variation of the bin counts (sample standard deviation over the mean).
 * One tall bin among empty ones gives a high CV (a clear pattern); counts spread evenly
 * give a CV near 0 (no pattern). Zero when the histogram is empty.
 */
export const binCv = (h: IdleHistogram): number => {
  const n = h.counts.length;
  if (h.inBounds === 0 || n < 2) return 0;
  const mean = h.inBounds / n;
  let ss = 0;
  for (const c of h.counts) ss += (c - mean) * (c - mean);
  return Math.sqrt(ss / (n - 1)) / mean;
};

/** Index of the first bin at which the in-bounds cumulative share reaches `p` (0 < p <= 1). */
export const percentileBin = (h: IdleHistogram, p: number): number => {
  let cumulative = 0;
  for (let i = 0; i < h.counts.length; i++) {
    cumulative += h.counts[i];
    if (cumulative >= p * h.inBounds) return i;
  }
  return h.counts.length - 1;
};
