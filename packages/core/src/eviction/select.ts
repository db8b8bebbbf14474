// The part every eviction policy shares: given the policy's preference order over the leases
// it may evict, take victims greedily until `need` is met. Policies differ only in the order
// (and the cost they report), so the rules below hold for all of them by construction:
// protected leases are never victims, victims have no duplicates, and an unmet need evicts
// nothing (a partial eviction would unload models for no gain).
import type { Bytes, EpochMs } from "../units.js";
import type { EvictionCandidate, EvictionDecision, EvictionVerdict } from "./types.js";

/** Verdict reasons, as data: simulators call policies many thousands of times per run. */
export const EvictionReason = {
  Protected: "inside its minimum duration",
  Evicted: "evicted to make room",
  NeedMet: "kept: the need was met before its turn",
  CannotMeetNeed: "kept: the need cannot be met without protected leases",
  FreesNothing: "kept: evicting it frees no memory",
  NothingNeeded: "kept: nothing to free",
} as const;

/** Inside the minimum duration a lease is never evicted. */
export const isProtected = (c: EvictionCandidate, now: EpochMs): boolean => now < c.heldUntil;

/** Past its expiry a lease is idle and only kept warm, so it goes before leases still held. */
export const isCandidateExpired = (c: EvictionCandidate, now: EpochMs): boolean => now >= c.expiresAt;

/** An evictable lease in the policy's preference order, with the cost it reports. */
export interface Ranked {
  readonly candidate: EvictionCandidate;
  readonly cost: number;
}

/** The first occurrence of each lease id: a lease listed twice can be evicted only once. */
export const uniqueCandidates = (candidates: readonly EvictionCandidate[]): EvictionCandidate[] => {
  const seen = new Set<string>();
  const out: EvictionCandidate[] = [];
  for (const c of candidates) {
    if (seen.has(c.leaseId)) continue;
    seen.add(c.leaseId);
    out.push(c);
  }
  return out;
};

/**
 * Splits candidates into protected ones and evictable ones (those that free something),
 * so a policy only has to order the evictable ones.
 */
export const partition = (
  candidates: readonly EvictionCandidate[],
  now: EpochMs,
): { readonly evictable: EvictionCandidate[]; readonly protectedOnes: EvictionCandidate[]; readonly useless: EvictionCandidate[] } => {
  const evictable: EvictionCandidate[] = [];
  const protectedOnes: EvictionCandidate[] = [];
  const useless: EvictionCandidate[] = [];
  for (const c of uniqueCandidates(candidates)) {
    if (isProtected(c, now)) protectedOnes.push(c);
    else if (!(c.frees > 0)) useless.push(c);
    else evictable.push(c);
  }
  return { evictable, protectedOnes, useless };
};

/** Greedy selection over `ordered` (evictable leases, most evictable first). */
export const selectVictims = (
  policy: string,
  ordered: readonly Ranked[],
  protectedOnes: readonly EvictionCandidate[],
  useless: readonly EvictionCandidate[],
  need: Bytes,
): EvictionDecision => {
  const verdicts: EvictionVerdict[] = protectedOnes.map((c) => ({ leaseId: c.leaseId, code: "Protected", reason: EvictionReason.Protected }));
  for (const c of useless) verdicts.push({ leaseId: c.leaseId, code: "Keep", reason: EvictionReason.FreesNothing });
  if (!(need > 0)) {
    for (const r of ordered) verdicts.push({ leaseId: r.candidate.leaseId, code: "Keep", cost: r.cost, reason: EvictionReason.NothingNeeded });
    return { policy, victims: [], freed: 0, satisfied: true, verdicts };
  }
  const available = ordered.reduce((sum, r) => sum + r.candidate.frees, 0);
  if (available < need) {
    for (const r of ordered) verdicts.push({ leaseId: r.candidate.leaseId, code: "Keep", cost: r.cost, reason: EvictionReason.CannotMeetNeed });
    return { policy, victims: [], freed: 0, satisfied: false, verdicts };
  }
  const victims: string[] = [];
  let freed = 0;
  for (const r of ordered) {
    if (freed >= need) {
      verdicts.push({ leaseId: r.candidate.leaseId, code: "Keep", cost: r.cost, reason: EvictionReason.NeedMet });
      continue;
    }
    victims.push(r.candidate.leaseId);
    freed += r.candidate.frees;
    verdicts.push({ leaseId: r.candidate.leaseId, code: "Evict", cost: r.cost, reason: EvictionReason.Evicted });
  }
  return { policy, victims, freed, satisfied: true, verdicts };
};

/** Total order used to break ties, so a decision never depends on the input order. */
export const byLeaseId = (a: EvictionCandidate, b: EvictionCandidate): number => (a.leaseId < b.leaseId ? -1 : a.leaseId > b.leaseId ? 1 : 0);
