// Berth's eviction: evict the leases whose eviction is expected to cost least per byte freed.
//
//   cost(c)        = P(reuse within horizon) x loadTime x size
//   costPerByte(c) = cost(c) / frees
//
// P(reuse) comes from the lease's recent inter-arrival gaps, conditioned on how long it has
// been idle already (see reuse.ts). loadTime x size is what a wrong guess costs: the lease's
// models must be loaded again, holding `size` bytes of GPU memory for `loadTime` without
// serving, while the request that found them gone waits `loadTime`. Dividing by the bytes the
// eviction frees compares a large idle model with several small ones on the same footing.
// Expired leases still go first (they are only kept warm, nobody holds them), then ascending
// cost per byte; ties fall back to LRU and the lease id, so the decision is deterministic.
import type { Bytes, DurationMs, EpochMs } from "../units.js";
import type { EvictionCandidate, EvictionDecision, EvictionPolicy } from "./types.js";
import { reuseProbability } from "./reuse.js";
import { byLeaseId, isCandidateExpired, partition, selectVictims, type Ranked } from "./select.js";

export const COST_AWARE = "cost-aware";

export interface CostAwareOptions {
  /** What "soon" means for reuse: the window over which a reload would be regretted. */
  readonly horizon: DurationMs;
}

export const defaultCostAwareOptions: CostAwareOptions = { horizon: 30 * 60_000 };

export const evictionCost = (c: EvictionCandidate, now: EpochMs, options: CostAwareOptions = defaultCostAwareOptions): number =>
  reuseProbability(c.recentGaps, Math.max(0, now - c.lastActivityAt), options.horizon) * c.loadTime * c.size;

export const costAwareOrder = (evictable: readonly EvictionCandidate[], now: EpochMs, options: CostAwareOptions = defaultCostAwareOptions): Ranked[] =>
  evictable
    .map((candidate) => ({ candidate, cost: evictionCost(candidate, now, options), expired: isCandidateExpired(candidate, now) }))
    .sort(
      (a, b) =>
        (a.expired ? 0 : 1) - (b.expired ? 0 : 1) ||
        a.cost / a.candidate.frees - b.cost / b.candidate.frees ||
        a.candidate.lastActivityAt - b.candidate.lastActivityAt ||
        byLeaseId(a.candidate, b.candidate),
    )
    .map(({ candidate, cost }) => ({ candidate, cost }));

export const chooseCostAware =
  (options: CostAwareOptions = defaultCostAwareOptions) =>
  (candidates: readonly EvictionCandidate[], need: Bytes, now: EpochMs): EvictionDecision => {
    const { evictable, protectedOnes, useless } = partition(candidates, now);
    return selectVictims(COST_AWARE, costAwareOrder(evictable, now, options), protectedOnes, useless, need);
  };

export const costAware = (options: CostAwareOptions = defaultCostAwareOptions): EvictionPolicy => ({
  name: COST_AWARE,
  choose: chooseCostAware(options),
});
