import { keepAlivePolicy } from "../eviction/keepalive-registry.js";
import { canExpire } from "../lease/clock.js";
import { isLive } from "../lease/phase.js";
import type { LeaseRecord } from "../lease/types.js";
import type { Draft } from "./draft.js";
import { endLease, setPhase, updateLease } from "./lifecycle.js";
import { memoryPressureOf } from "./pressure.js";
import { loadTimeOf, sizeOf } from "./views.js";

// Expiry, on Tick: a live lease past its computed expiry becomes Expiring (only one that has
// been Ready: before that the lease clock does not run). One that was
// Ready keeps its models warm (while nobody needs the memory, for as long as the keep-alive
// policy says); the others, and warm ones whose time is up, are released.

/** When a freshly expired lease's models stop being kept warm; `now` or earlier means not at all. */
const warmUntilOf = (draft: Draft, lease: LeaseRecord): number => {
  const { config } = draft;
  if (!config.keepWarm || !lease.placement?.assigned) return draft.now;
  const policy = keepAlivePolicy(config.keepAlivePolicy);
  if (!policy) return draft.now;
  // The inputs the keep-alive experiment proved the policy with (sim/src/keepalive/simulate.ts):
  // the gaps' starts (time of day), the idle period's start, and the fleet's memory pressure.
  // No gaps yet: trivially aligned. Gaps stored without their starts: none known.
  const starts = lease.recentGapStarts ?? (lease.recentGaps.length === 0 ? [] : undefined);
  const windows = policy.windows({
    idleGaps: lease.recentGaps,
    loadTime: loadTimeOf(draft, lease),
    size: sizeOf(draft, lease),
    ...(starts !== undefined && starts.length === lease.recentGaps.length ? { idleStarts: starts } : {}),
    idleSince: lease.lastActivityAt,
    pressure: memoryPressureOf(draft),
    ...(draft.fleetGaps !== undefined ? { fleet: draft.fleetGaps } : {}),
  });
  // A pre-warm window would unload and load again later; decide keeps it simple: warm or not.
  const byPolicy = lease.lastActivityAt + windows.keepAlive;
  const cap = config.maxWarm === undefined ? Number.POSITIVE_INFINITY : lease.expiresAt + config.maxWarm;
  return Math.min(byPolicy, cap);
};

export const expireLeases = (draft: Draft): void => {
  for (const id of draft.leases.select((l) => isLive(l.phase) && canExpire(l) && l.expiresAt <= draft.now)) {
    const lease = draft.leases.get(id)!;
    const wasReady = lease.phase === "Ready";
    const expiring = setPhase(draft, lease, "Expiring", "Expired");
    if (!expiring) continue;
    const warmUntil = wasReady ? warmUntilOf(draft, expiring) : draft.now;
    if (warmUntil > draft.now) {
      // Infinity (warm until evicted) is left out: snapshots are JSON.
      updateLease(draft, Number.isFinite(warmUntil) ? { ...expiring, warmUntil } : expiring);
      draft.record({
        kind: "Expiry",
        leaseId: id,
        leaseName: lease.spec.name,
        policy: draft.config.keepAlivePolicy,
        outcome: "KeptWarm",
        ...(lease.placement ? { serverId: lease.placement.serverId } : {}),
      });
    } else endLease(draft, expiring, "Released", "Expired");
  }
  for (const id of draft.leases.select((l) => l.phase === "Expiring" && l.warmUntil !== undefined && l.warmUntil <= draft.now))
    endLease(draft, draft.leases.get(id)!, "Released", "WarmEnded");
};

/** Released and Failed leases leave the snapshot once they have been shown for `retainTerminal`. */
export const pruneTerminal = (draft: Draft): void => {
  for (const id of draft.leases.select((l) => (l.phase === "Released" || l.phase === "Failed") && l.phaseSince + draft.config.retainTerminal <= draft.now))
    draft.leases.delete(id);
};
