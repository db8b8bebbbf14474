import type { EpochMs } from "../units.js";
import { isLive } from "./phase.js";
import type { LeaseRecord } from "./types.js";

// The lease clock is arithmetic over recorded instants: expiry is computed from them, and a
// caller that wants to act at expiry asks `nextDeadline` and schedules one wake-up.
// The clock only runs once the lease has been Ready: the minimum duration is time the lease
// can serve, so a slow placement or load does not use it up, and a lease that was never
// Ready is never expired (it is released or fails instead).

type ClockInputs = Pick<LeaseRecord, "createdAt" | "readyAt" | "spec" | "lastActivityAt" | "renewedUntil">;

/** The end of the minimum duration (from the first Ready): before it the lease is never expired nor evicted. */
export const heldUntil = (lease: Pick<LeaseRecord, "createdAt" | "readyAt" | "spec">): EpochMs =>
  (lease.readyAt ?? lease.createdAt) + lease.spec.minDuration;

/** Whether the clock applies: only a lease that has been Ready can expire. */
export const canExpire = (lease: Pick<LeaseRecord, "readyAt">): boolean => lease.readyAt !== undefined;

/** End of the automatic renewal: the last activity plus the activity window, when renewal is on. */
export const renewedByActivityUntil = (lease: Pick<LeaseRecord, "spec" | "lastActivityAt">): EpochMs =>
  lease.spec.renewal.enabled ? lease.lastActivityAt + lease.spec.renewal.activityWindow : Number.NEGATIVE_INFINITY;

/** When the lease expires: the latest of its minimum duration, explicit renewals and activity renewal. */
export const expiresAt = (lease: ClockInputs): EpochMs =>
  Math.max(heldUntil(lease), lease.renewedUntil, renewedByActivityUntil(lease));

export const isExpired = (lease: ClockInputs, now: EpochMs): boolean => canExpire(lease) && expiresAt(lease) <= now;

/** The lease with its cached `expiresAt` brought up to date (call after changing a clock input). */
export const withExpiry = <L extends LeaseRecord>(lease: L): L => {
  const at = expiresAt(lease);
  return at === lease.expiresAt ? lease : { ...lease, expiresAt: at };
};

/** The lease renewed explicitly at `at` for `duration` (never shortens it). */
export const renew = <L extends LeaseRecord>(lease: L, at: EpochMs, duration: number = lease.spec.minDuration): L =>
  withExpiry({ ...lease, renewedUntil: Math.max(lease.renewedUntil, at + duration) });

/** The lease after activity at `at` (records the gap for reuse estimates; renews if renewal is on). */
export const recordActivity = <L extends LeaseRecord>(lease: L, at: EpochMs, requests: number, gapsLimit: number): L => {
  const gap = at - lease.lastActivityAt;
  if (!(gap > 0)) return withExpiry({ ...lease, lastActivityAt: Math.max(lease.lastActivityAt, at), requests: lease.requests + requests });
  const recentGaps = [...lease.recentGaps, gap].slice(-gapsLimit);
  // The starts stay aligned with the gaps; a record stored without them (older gaps of unknown
  // start) never gets them, rather than starts that would belong to other gaps.
  const known = lease.recentGapStarts ?? (lease.recentGaps.length === 0 ? [] : undefined);
  const recentGapStarts = known === undefined ? {} : { recentGapStarts: [...known, lease.lastActivityAt].slice(-gapsLimit) };
  return withExpiry({ ...lease, lastActivityAt: at, requests: lease.requests + requests, recentGaps, ...recentGapStarts });
};

/**
 * The earliest instant after `now` at which some live lease that has been Ready expires, or
 * undefined. Callers schedule one wake-up (a Tick) there instead of polling.
 */
export const nextExpiry = (leases: Iterable<LeaseRecord>, now: EpochMs): EpochMs | undefined => {
  let next: EpochMs | undefined;
  for (const lease of leases) {
    if (!isLive(lease.phase) || !canExpire(lease)) continue;
    const at = lease.expiresAt;
    if (at > now && (next === undefined || at < next)) next = at;
    else if (at <= now) return now; // already due: wake up at once
  }
  return next;
};

/** The next deadline of a snapshot's leases (see nextExpiry). */
export const nextDeadline = (snapshot: { readonly now: EpochMs; readonly leases: Readonly<Record<string, LeaseRecord>> }): EpochMs | undefined =>
  nextExpiry(Object.values(snapshot.leases), snapshot.now);
