// Berth's keep-alive: keep a lease's models warm for as long as that is expected to pay.
//
// After each use the lease either holds its `size` bytes for another moment or lets them go
// and pays a reload (`loadTime`) if it is used again. That is rent-or-buy. Keeping warm for
// T after the last use, with G the next idle gap, costs in expectation
//
//   C(T) = price x size x E[min(G, T)]  +  loadTime x P(G > T)
//          (memory held while idle)        (a cold start when the gap outlasts T)
//
// with `price` the load time one byte-millisecond of GPU memory is worth, set by
// `breakEven`: keeping a `referenceSize` model warm for `breakEven` costs as much as one
// `referenceLoad` reload. We take T minimising C over the empirical distribution of the
// lease's recent gaps (C only changes slope at observed gaps, so the candidates are 0 and
// each observed gap). A large model or a fast load shortens T; a lease whose gaps cluster
// below some value gets T just past the cluster; a lease whose gaps are all long gets 0.
// With too little history we use the deterministic rent-or-buy rule, T = the lease's own
// break-even time (loadTime / (price x size)), which never costs more than twice the best
// choice in hindsight. When memory is needed sooner, cost-aware eviction decides (cost-aware.ts).
import type { Bytes, DurationMs } from "../units.js";
import { GiB } from "../units.js";
import { HOUR, type KeepAliveInput, type KeepAlivePolicy, type KeepAliveWindows } from "./keepalive.js";

export const BERTH_KEEPALIVE = "berth";

export interface BerthKeepAliveOptions {
  readonly breakEven: DurationMs;
  readonly referenceSize: Bytes;
  readonly referenceLoad: DurationMs;
  /** Below this many gaps, use the break-even rule. */
  readonly minSamples: number;
  /** Only the most recent gaps count (workloads drift). */
  readonly historyLimit: number;
  readonly maxKeepAlive: DurationMs;
  /**
   * Gap classes (upper bounds, ascending) for conditioning on the latest gap: requests come
   * in sessions, so the gap after a short gap is mostly short and the gap after a long one
   * is not. Empty: no conditioning.
   */
  readonly contextBounds: readonly DurationMs[];
}

export const defaultBerthKeepAliveOptions: BerthKeepAliveOptions = {
  breakEven: 4 * HOUR,
  referenceSize: 23 * GiB,
  referenceLoad: 22_700,
  minSamples: 5,
  historyLimit: 10_000,
  maxKeepAlive: 24 * HOUR,
  // Conditioning moved runs along the same cold-start / memory frontier on the Alibaba
  // GenAI trace without improving it (sim/results/keepalive.md), so it is off by default.
  contextBounds: [],
};

/** Load time that holding one byte for one millisecond is worth. */
export const memoryPrice = (o: BerthKeepAliveOptions): number => o.referenceLoad / (o.referenceSize * o.breakEven);

/** The keep-alive T in {0} U gaps (up to maxKeepAlive) that minimises C(T); the smallest on ties. */
export const costOptimalKeepAlive = (
  gaps: readonly DurationMs[],
  loadTime: DurationMs,
  size: Bytes,
  o: BerthKeepAliveOptions,
  alreadySorted = false,
): DurationMs => {
  const sorted = alreadySorted ? gaps : gaps.map((g) => Math.max(0, g)).sort((a, b) => a - b);
  const n = sorted.length;
  const hold = memoryPrice(o) * size;
  let best = 0;
  let positive = 0;
  for (const g of sorted) if (g > 0) positive++;
  let bestCost = (loadTime * positive) / n;
  let prefix = 0;
  for (let k = 0; k < n; k++) {
    prefix += sorted[k];
    const t = sorted[k];
    if (t > o.maxKeepAlive) break;
    if (k + 1 < n && sorted[k + 1] === t) continue; // evaluate a run of equal gaps once, at its end
    const beyond = n - k - 1;
    const cost = (hold * (prefix + beyond * t)) / n + (loadTime * beyond) / n;
    if (cost < bestCost) {
      bestCost = cost;
      best = t;
    }
  }
  return best;
};

const gapClass = (gap: DurationMs, bounds: readonly DurationMs[]): number => {
  let c = 0;
  while (c < bounds.length && gap > bounds[c]) c++;
  return c;
};

/**
 * The gaps that followed a gap of the same class as the latest one, when there are at least
 * `minSamples` of them; otherwise all gaps.
 */
export const contextGaps = (gaps: readonly DurationMs[], bounds: readonly DurationMs[], minSamples: number): readonly DurationMs[] => {
  if (bounds.length === 0 || gaps.length < 2) return gaps;
  const now = gapClass(gaps[gaps.length - 1], bounds);
  const followers: DurationMs[] = [];
  for (let i = 1; i < gaps.length; i++) if (gapClass(gaps[i - 1], bounds) === now) followers.push(gaps[i]);
  return followers.length >= minSamples ? followers : gaps;
};

export const berthWindows = (input: KeepAliveInput, o: BerthKeepAliveOptions = defaultBerthKeepAliveOptions): KeepAliveWindows => {
  const recent = input.idleGaps.length > o.historyLimit ? input.idleGaps.slice(-o.historyLimit) : input.idleGaps;
  const gaps = recent.length < o.minSamples ? recent : contextGaps(recent, o.contextBounds, o.minSamples);
  if (gaps.length < o.minSamples) {
    const breakEven = input.size > 0 ? input.loadTime / (memoryPrice(o) * input.size) : o.maxKeepAlive;
    return { prewarm: 0, keepAlive: Math.min(o.maxKeepAlive, breakEven), mode: "NoHistory" };
  }
  const presorted = gaps === input.idleGaps && input.sortedGaps !== undefined && input.sortedGaps.length === gaps.length;
  return {
    prewarm: 0,
    keepAlive: costOptimalKeepAlive(presorted ? input.sortedGaps! : gaps, input.loadTime, input.size, o, presorted),
    mode: "CostOptimal",
  };
};

export const berthKeepAlive = (options: BerthKeepAliveOptions = defaultBerthKeepAliveOptions): KeepAlivePolicy => ({
  name: BERTH_KEEPALIVE,
  windows: (input) => berthWindows(input, options),
});
