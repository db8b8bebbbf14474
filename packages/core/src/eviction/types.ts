import type { Bytes, DurationMs, EpochMs } from "../units.js";

/** A lease that could be evicted to make room, with what evicting it would cost. */
export interface EvictionCandidate {
  readonly leaseId: string;
  readonly serverId: string;
  /** GPU memory given back if this lease (and the models only it holds) is unloaded. */
  readonly frees: Bytes;
  readonly createdAt: EpochMs;
  /** End of the lease's minimum duration: before this it is protected, never evicted. */
  readonly heldUntil: EpochMs;
  /** When the lease expires (past it the lease is idle and only kept warm). */
  readonly expiresAt: EpochMs;
  readonly lastActivityAt: EpochMs;
  /** Measured (or estimated) time to load the lease's models again. */
  readonly loadTime: DurationMs;
  /** Total size of the lease's models. */
  readonly size: Bytes;
  /** Recent inter-arrival gaps of its requests, newest last (for reuse likelihood). */
  readonly recentGaps: readonly DurationMs[];
}

export interface EvictionVerdict {
  readonly leaseId: string;
  readonly code: "Evict" | "Keep" | "Protected";
  /** Cost of evicting it now (higher means keep); undefined for protected leases. */
  readonly cost?: number;
  readonly reason: string;
}

export interface EvictionDecision {
  readonly policy: string;
  /** Leases to evict, in order; empty when the need cannot be met without protected leases. */
  readonly victims: readonly string[];
  readonly freed: Bytes;
  readonly satisfied: boolean;
  readonly verdicts: readonly EvictionVerdict[];
}

/** Chooses which leases to evict to free `need` bytes of GPU memory on one server or node. */
export interface EvictionPolicy {
  readonly name: string;
  choose(candidates: readonly EvictionCandidate[], need: Bytes, now: EpochMs): EvictionDecision;
}
