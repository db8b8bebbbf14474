// How likely a lease is to be used again soon, from the gaps between its recent requests.
// Used by the cost-aware eviction policy and by Berth's keep-alive.
import type { DurationMs } from "../units.js";

/** With no history at all, reuse within the horizon is a coin toss. */
export const NO_HISTORY_REUSE = 0.5;

/**
 * P(next request within `horizon` | already idle for `idleFor`).
 *
 * Empirical conditional estimate over the gap history, smoothed towards an exponential
 * prior with one pseudo-observation:
 *
 *   p = (hits + p0) / (survivors + 1)
 *   survivors = #{gaps > idleFor}            gaps still possible given the idle time so far
 *   hits      = #{idleFor < gap <= idleFor + horizon}
 *   p0        = 1 - exp(-horizon / meanGap)  memoryless estimate from the mean gap
 *
 * The empirical part knows what the exponential does not: a lease whose gaps were all
 * under a minute and that has now been idle for hours is probably done (survivors = 0, so
 * p falls back to p0 with a single pseudo-count, which the idle time itself should make
 * small). The prior keeps a short history from claiming certainty either way.
 */
export const reuseProbability = (gaps: readonly DurationMs[], idleFor: DurationMs, horizon: DurationMs): number => {
  if (gaps.length === 0) return NO_HISTORY_REUSE;
  let sum = 0;
  let survivors = 0;
  let hits = 0;
  for (const g of gaps) {
    sum += g;
    if (g > idleFor) {
      survivors++;
      if (g <= idleFor + horizon) hits++;
    }
  }
  const mean = sum / gaps.length;
  // The prior also decays with the idle time: past the whole history, the longer the
  // silence the less the mean gap says about the next request.
  const p0 = mean > 0 ? (1 - Math.exp(-horizon / mean)) * (survivors > 0 ? 1 : Math.min(1, mean / Math.max(idleFor, 1))) : 1;
  return (hits + p0) / (survivors + 1);
};
