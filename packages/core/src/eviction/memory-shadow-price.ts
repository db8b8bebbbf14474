// The budget's shadow price: what one byte-millisecond of shared GPU memory costs the rest of
// the fleet right now, learned online from memory pressure.
//
// Berth's keep-alive minimises, per lease, hold x (memory held) + penalty x (cold starts). On a
// fleet the leases also share a budget: memory in use <= budget at every moment. Relaxing that
// constraint with a multiplier mu (Lagrange) leaves each lease its own problem, with memory
// priced at base + mu: the base price is the operator's (what an idle GiB-hour costs on its
// own), mu is what the budget adds. mu is zero while the budget never binds, and otherwise the
// cold starts per byte-millisecond that the budget failed to cover. We estimate it from the
// evictions of the last `window`: each is a load the budget could not hold without taking a
// lease's memory, and a lease that loses its memory pays at most one reload, so
//
//   mu = penalty x evictions in the window / (budget x window).
//
// That counts every eviction as a full reload (an upper bound: some victims would not have
// been used again before their plan let them go). The price rises while the budget binds, so
// plans hold less and fewer evictions follow; it returns to the base price a window after the
// pressure ends. The window is one day, the period of the traffic's time of day, so the
// estimate does not swing between day and night.
import type { DurationMs, EpochMs } from "../units.js";
import type { MemoryPressure } from "./keepalive.js";

export interface ShadowPrice {
  /** mu at `now`, in penalty units per byte-millisecond, from the fleet's running pressure count. */
  at(now: EpochMs, pressure: MemoryPressure): number;
}

/**
 * How much a running count grew over the trailing `window`, from samples at non-decreasing
 * times (the count is taken as 0 before the first sample).
 */
export const windowedGrowth = (window: DurationMs) => {
  const times: number[] = [-Infinity];
  const counts: number[] = [0];
  let head = 0; // the latest sample at or before the window's start
  return (now: EpochMs, running: number): number => {
    if (running !== counts[counts.length - 1]) {
      times.push(now);
      counts.push(running);
    }
    const cutoff = now - window;
    while (head + 1 < times.length && times[head + 1] <= cutoff) head++;
    if (head > 1024) {
      times.splice(0, head);
      counts.splice(0, head);
      head = 0;
    }
    return running - counts[head];
  };
};

/** How many of `times` (ascending) fall in the trailing `window` ending at `now`: in (now - window, now]. */
export const countWithin = (times: readonly EpochMs[], now: EpochMs, window: DurationMs): number => {
  let n = 0;
  for (let i = times.length - 1; i >= 0 && times[i] > now - window; i--) if (times[i] <= now) n++;
  return n;
};

/**
 * The budget's shadow price over a trailing `window`, each eviction priced at `penalty`. With
 * `pressure.evictionTimes` it counts from those (stateless: the same call, the same price);
 * otherwise from how the running count grew over the calls it has seen.
 */
export const shadowPrice = (window: DurationMs, penalty: DurationMs): ShadowPrice => {
  if (!(window > 0) || !Number.isFinite(window)) throw new RangeError(`shadow price window must be positive and finite, got ${window}`);
  const evicted = windowedGrowth(window);
  return {
    at: (now, pressure) => {
      const n = pressure.evictionTimes !== undefined ? countWithin(pressure.evictionTimes, now, window) : evicted(now, pressure.evictions);
      return n > 0 && pressure.budget > 0 ? (penalty * n) / (pressure.budget * window) : 0;
    },
  };
};
