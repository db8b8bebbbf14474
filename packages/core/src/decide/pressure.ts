import type { MemoryPressure } from "../eviction/keepalive.js";
import { defaultBerthKeepAliveOptions } from "../eviction/keepalive-berth.js";
import type { LeaseRecord } from "../lease/types.js";
import { fleetGpuMemory } from "./cluster.js";
import type { Draft } from "./draft.js";

// Memory pressure for the keep-alive policy (KeepAliveInput.pressure), as the keep-alive
// experiment computed it (sim/src/keepalive/simulate.ts): the GPU memory the leases share, and
// the leases unloaded to make room while their keep-alive still held them. decide keeps no
// state outside its snapshot, so it keeps the times of those evictions there
// (Snapshot.warmEvictions) and hands them to the policy, which counts the ones in its window
// afresh on every call instead of tracking a running count across calls.

/** How long an eviction time is kept: the registered Berth policy's pressure window. */
export const WARM_EVICTION_RETENTION = defaultBerthKeepAliveOptions.pressureWindow;

/** Whether evicting `lease` now takes memory its keep-alive still held (warm with no end, or an end still ahead). */
export const heldWarm = (lease: LeaseRecord, now: number): boolean =>
  lease.phase === "Expiring" && (lease.warmUntil === undefined || lease.warmUntil > now);

/** Note that a warm lease is being evicted now; times older than the retention go on each write. */
export const noteWarmEviction = (draft: Draft, lease: LeaseRecord): void => {
  if (!heldWarm(lease, draft.now)) return;
  const cutoff = draft.now - WARM_EVICTION_RETENTION;
  const kept = draft.warmEvictions.filter((t) => t > cutoff);
  kept.push(draft.now);
  draft.warmEvictions = kept;
};

/** The fleet's memory pressure as of this step, read at `now`. */
export const memoryPressureOf = (draft: Draft): MemoryPressure => ({
  budget: fleetGpuMemory(draft),
  // Not a running count from the start (the list is pruned): policies use the times instead.
  evictions: draft.warmEvictions.length,
  evictionTimes: draft.warmEvictions,
  at: draft.now,
});
