// LRU: the baseline. Expired leases first (they are only kept warm), then the lease whose
// last activity is oldest. The cost it reports is the idle time, negated, so "lower cost
// goes first" reads the same as for the cost-aware policy.
import type { Bytes, EpochMs } from "../units.js";
import type { EvictionCandidate, EvictionDecision, EvictionPolicy } from "./types.js";
import { byLeaseId, isCandidateExpired, partition, selectVictims } from "./select.js";

export const LRU = "lru";

export const lruOrder = (evictable: readonly EvictionCandidate[], now: EpochMs): EvictionCandidate[] =>
  [...evictable].sort((a, b) => {
    const ea = isCandidateExpired(a, now) ? 0 : 1;
    const eb = isCandidateExpired(b, now) ? 0 : 1;
    return ea - eb || a.lastActivityAt - b.lastActivityAt || byLeaseId(a, b);
  });

export const chooseLru = (candidates: readonly EvictionCandidate[], need: Bytes, now: EpochMs): EvictionDecision => {
  const { evictable, protectedOnes, useless } = partition(candidates, now);
  const ordered = lruOrder(evictable, now).map((candidate) => ({ candidate, cost: -(now - candidate.lastActivityAt) }));
  return selectVictims(LRU, ordered, protectedOnes, useless, need);
};

export const lru = (): EvictionPolicy => ({ name: LRU, choose: chooseLru });
