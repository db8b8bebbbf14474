// Berth's keep-alive: keep a lease's models warm for as long as that is expected to pay, and
// load them again shortly before they are expected back.
//
// After each use the lease either holds its `size` bytes for another moment or lets them go
// and pays a reload (`loadTime`) if it is used again. That is rent-or-buy. Keeping warm for
// T after the last use, with G the next idle gap, costs in expectation
//
//   C(T) = price x size x E[min(G,T)]  +  loadTime x P(G>T)
//          (memory held while idle)        (a cold start when the gap outlasts T)
//
// with `price` the load time one byte-millisecond of GPU memory is worth, set by
// `breakEven`: keeping a `referenceSize` model warm for `breakEven` costs as much as one
// `referenceLoad` reload. A single T is the best plan only when the gaps are one cluster. On
// real traffic they are not: most gaps are seconds to minutes inside a session, and the rest
// are hours, ending when the users come back. So Berth plans each idle period as: warm until U,
// unloaded, pre-warmed from P - lead, warm until E: U the least-cost single keep-alive, then
// the (P, E) of least expected cost given U, over the lease's empirical gaps, exactly
// (keepalive-plan.ts). The gaps it uses are the ones that began at about the same time of day
// as this idle period (keepalive-time-of-day.ts), when there are enough of them: that dates
// the return after a nightly lull, and it tells a daytime pause (worth holding through) from
// the night (not worth it).
// With too little history we use the deterministic rent-or-buy rule, T = the lease's own
// break-even time (loadTime / (price x size)), which never costs more than twice the best
// choice in hindsight. When memory is needed sooner, cost-aware eviction decides (cost-aware.ts).
// berthWindows is the exact, stateless form, from one lease's gaps. The form the simulator
// and fleets use is keepalive-berth-pooled.ts: the same plan, learned online on binned gaps
// (fast), with each lease's gaps pooled with the fleet's, so sparse leases are not planned
// from a handful of gaps.
import type { Bytes, DurationMs } from "../units.js";
import { GiB } from "../units.js";
import { HOUR, type KeepAliveInput, type KeepAlivePolicy, type KeepAliveWindows } from "./keepalive.js";
import { optimalPlan } from "./keepalive-plan.js";
import { gapsNearTimeOfDay } from "./keepalive-time-of-day.js";

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
  /** Plan an unload and a pre-warm (false: a single keep-alive T, the rent-or-buy rule alone). */
  readonly prewarm: boolean;
  /** The pre-warm load starts this many expected load times before the model is wanted. */
  readonly leadLoads: number;
  /** Condition on gaps that began within this of the idle period's time of day (0: off). */
  readonly timeOfDayWindow: DurationMs;
  /**
   * Weigh those gaps by how near in the day they began, from 1 at the same hour down to
   * 1/(H+1) at H whole hours away (false: all gaps in the window weigh 1). Only the pooled
   * policy uses it; the exact form uses the plain window.
   */
  readonly timeOfDayTaper: boolean;
  /** Fewest such gaps to condition on; below it all gaps count. */
  readonly timeOfDaySamples: number;
  /** Gaps longer than this count by their time of day of return (see gapsNearTimeOfDay). */
  readonly timeOfDayShiftAbove: DurationMs;
  /**
   * Choose U as the single keep-alive over all recent gaps (false: over the gaps near this time
   * of day); the pre-warm is always planned from the gaps near this time of day.
   */
  readonly warmFromAllGaps: boolean;
  /**
   * Price a cold start at `referenceLoad` rather than the lease's measured mean load time:
   * the mean of a handful of loads is mostly noise, and a noisy price scatters the plans.
   */
  readonly referencePenalty: boolean;
  /**
   * Weight, in gaps, of the fleet's gaps in each lease's distribution (the pooled prior of
   * keepalive-berth-pooled.ts; 0: each lease alone). Only the pooled policy uses it.
   */
  readonly fleetPrior: number;
  /**
   * Add the budget's shadow price (memory-shadow-price.ts), estimated over this trailing
   * window from the memory pressure the caller reports (0: the base price alone). Only the
   * pooled policy uses it.
   */
  readonly pressureWindow: DurationMs;
}

export const defaultBerthKeepAliveOptions: BerthKeepAliveOptions = {
  // The operator's base price of an idle GiB-hour: holding a median (23 GiB) model warm 4.75 h
  // costs one median (22.7 s) reload. A setting, not a law. It was 4 h until U came from the
  // tapered time-of-day gaps, which spend less memory at any price; 4.75 h spends what the 4 h
  // plan spent, over the budgets of the keep-alive experiment (sim/results/keepalive.md).
  breakEven: 4.75 * HOUR,
  referenceSize: 23 * GiB,
  referenceLoad: 22_700,
  minSamples: 5,
  historyLimit: 10_000,
  maxKeepAlive: 24 * HOUR,
  // Conditioning moved runs along the same cold-start / memory frontier on the Alibaba
  // GenAI trace without improving it (sim/results/keepalive.md), so it is off by default.
  contextBounds: [],
  prewarm: true,
  // Loads vary (p50 22.7 s, p90 42 s on the Alibaba trace): two mean loads is about the p90.
  leadLoads: 2,
  // Tuned once on seed 42 at 640 GiB (sim/results/keepalive.md): +-6 h holds enough days of a
  // lease's lulls to date their end; narrower windows leave too few gaps, wider ones mix in noon.
  timeOfDayWindow: 6 * HOUR,
  // A gap that began at this hour says more about this idle period than one that began 6 h
  // off: fewer cold starts at equal memory at every budget (sim/results/keepalive.md).
  timeOfDayTaper: true,
  timeOfDaySamples: 5,
  timeOfDayShiftAbove: 2 * HOUR,
  // U from the same time-of-day gaps as the pre-warm: a lease's next gap at 3 pm is rarely its
  // overnight lull, so holding through a 1-4 h daytime lull pays where the all-day mix says it
  // does not (and the reverse at night). Fewer cold starts at the same memory on the Alibaba
  // GenAI trace at 640 and 1,280 GiB (sim/results/keepalive.md).
  warmFromAllGaps: false,
  referencePenalty: true,
  // A lease's gaps weigh n against the fleet's 10 (sim/results/keepalive.md).
  fleetPrior: 10,
  // One day: the traffic's period (memory-shadow-price.ts).
  pressureWindow: 24 * HOUR,
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

/** The gaps Berth plans from: recent ones, narrowed to the same time of day or the same context when configured. */
const planningGaps = (input: KeepAliveInput, o: BerthKeepAliveOptions): { gaps: readonly DurationMs[]; whole: boolean; timeOfDay: boolean } => {
  const cut = input.idleGaps.length > o.historyLimit ? input.idleGaps.length - o.historyLimit : 0;
  const recent = cut > 0 ? input.idleGaps.slice(cut) : input.idleGaps;
  if (recent.length < o.minSamples) return { gaps: recent, whole: cut === 0, timeOfDay: false };
  if (o.timeOfDayWindow > 0 && input.idleSince !== undefined && input.idleStarts?.length === input.idleGaps.length) {
    const starts = cut > 0 ? input.idleStarts.slice(cut) : input.idleStarts;
    const near = gapsNearTimeOfDay(recent, starts, input.idleSince, o.timeOfDayWindow, o.timeOfDayShiftAbove);
    if (near.length >= Math.max(o.minSamples, o.timeOfDaySamples)) return { gaps: near, whole: false, timeOfDay: true };
  }
  const context = contextGaps(recent, o.contextBounds, o.minSamples);
  return { gaps: context, whole: context === input.idleGaps, timeOfDay: false };
};

export const berthWindows = (input: KeepAliveInput, o: BerthKeepAliveOptions = defaultBerthKeepAliveOptions): KeepAliveWindows => {
  const { gaps, whole, timeOfDay } = planningGaps(input, o);
  const penalty = o.referencePenalty ? o.referenceLoad : input.loadTime;
  if (gaps.length < o.minSamples) {
    const breakEven = input.size > 0 ? penalty / (memoryPrice(o) * input.size) : o.maxKeepAlive;
    return { prewarm: 0, keepAlive: Math.min(o.maxKeepAlive, breakEven), mode: "NoHistory" };
  }
  const presorted = whole && input.sortedGaps !== undefined && input.sortedGaps.length === gaps.length;
  if (!o.prewarm) {
    return {
      prewarm: 0,
      keepAlive: costOptimalKeepAlive(presorted ? input.sortedGaps! : gaps, penalty, input.size, o, presorted),
      mode: "CostOptimal",
    };
  }
  const model = { hold: memoryPrice(o) * input.size, loadPenalty: penalty, lead: o.leadLoads * input.loadTime, maxWarm: o.maxKeepAlive };
  const sorted = presorted ? input.sortedGaps! : gaps.map((g) => Math.max(0, g)).sort((a, b) => a - b);
  // U is the single keep-alive, chosen before the pre-warm so that the plan does not unload
  // between a lease's usual pauses only to reload for the next one; with warmFromAllGaps, from
  // all recent gaps rather than those near this time of day.
  const allSorted = input.sortedGaps !== undefined && input.sortedGaps.length === input.idleGaps.length && input.idleGaps.length <= o.historyLimit;
  const warmFor = !timeOfDay ? undefined
    : o.warmFromAllGaps ? costOptimalKeepAlive(allSorted ? input.sortedGaps! : input.idleGaps.slice(-o.historyLimit), model.loadPenalty, input.size, o, allSorted)
    : costOptimalKeepAlive(sorted, model.loadPenalty, input.size, o, true);
  const plan = optimalPlan(sorted, { ...model, warmFor });
  if (plan.prewarmAt > plan.warmFor) {
    return { prewarm: plan.prewarmAt, warmFor: plan.warmFor, keepAlive: plan.warmUntil, mode: "Prewarm" };
  }
  return { prewarm: 0, keepAlive: plan.warmUntil, mode: "CostOptimal" };
};

export const berthKeepAlive = (options: BerthKeepAliveOptions = defaultBerthKeepAliveOptions): KeepAlivePolicy => ({
  name: BERTH_KEEPALIVE,
  windows: (input) => berthWindows(input, options),
});
