import { emptyAutoscalerMemory } from "../autoscaler/types.js";
import { modelSetKey } from "../lease/ownership.js";
import type { LeaseFailure, LeaseRecord } from "../lease/types.js";
import type { Draft } from "./draft.js";
import { endLease, setPhase, updateLease } from "./lifecycle.js";
import type { EventOf } from "./types.js";

/** The lease the report is about, when it is bound to the reporting server; else a rejection. */
const reported = (draft: Draft, event: EventOf<"ModelsLoaded"> | EventOf<"ModelsFailed">): LeaseRecord | undefined => {
  const lease = draft.leases.get(event.leaseId);
  if (!lease) {
    draft.reject({ event: event._tag, code: "NotFound", message: `lease ${event.leaseId} is not known`, subject: event.leaseId });
    return undefined;
  }
  if (lease.placement?.serverId !== event.serverId || !lease.placement.assigned) {
    // A late report from a server the lease has left: nothing to do.
    draft.reject({ event: event._tag, code: "FailedPrecondition", message: `lease ${event.leaseId} is not assigned to ${event.serverId}`, subject: event.leaseId });
    return undefined;
  }
  return lease;
};

/**
 * A pool lease whose measured memory breaks its quota, or its instance's room, is not kept:
 * the declared figure was a promise the models did not keep.
 */
const overQuota = (draft: Draft, lease: LeaseRecord): LeaseFailure | undefined => {
  const where = lease.spec.where;
  if (where.kind !== "pool") return undefined;
  const quota = Math.min(where.quota, draft.pools.get(where.pool)?.quotaPerInstance ?? Number.POSITIVE_INFINITY);
  if (lease.memory > quota)
    return { code: "OverQuota", message: `lease ${lease.spec.name} measured ${lease.memory} bytes, over its quota of ${quota}`, details: { need: lease.memory, free: quota } };
  const server = draft.servers.get(lease.placement!.serverId)!;
  const used = draft.leasesOn(server.id).reduce((sum, l) => sum + (l.id === lease.id ? lease.memory : l.memory), 0);
  if (used > server.capacity)
    return { code: "OverQuota", message: `lease ${lease.spec.name} measured ${lease.memory} bytes; server ${server.id} has no room for it`, details: { need: lease.memory, free: server.capacity - (used - lease.memory) } };
  return undefined;
};

/** Loaded: the lease is Ready, and the measured memory replaces the declared figure from now on. */
export const onModelsLoaded = (draft: Draft, event: EventOf<"ModelsLoaded">): void => {
  const lease = reported(draft, event);
  if (!lease) return;
  if (!(event.measuredMemory >= 0))
    return draft.reject({ event: event._tag, code: "InvalidArgument", message: "measured memory must be >= 0", subject: event.leaseId });
  const measured: LeaseRecord = {
    ...lease,
    memory: event.measuredMemory,
    measuredMemory: event.measuredMemory,
    ...(event.loadTime !== undefined ? { loadTime: event.loadTime } : {}),
    ...(lease.spec.autoscaling && !lease.autoscaler ? { autoscaler: emptyAutoscalerMemory } : {}),
  };
  const over = overQuota(draft, measured);
  if (over) return endLease(draft, measured, "Failed", "OverQuota", over);
  updateLease(draft, measured);
  draft.measured.set(modelSetKey(lease.spec.models), {
    memory: event.measuredMemory,
    ...(event.loadTime !== undefined ? { loadTime: event.loadTime } : {}),
    at: draft.now,
  });
  if (lease.phase === "Loading") setPhase(draft, measured, "Ready", "ModelsLoaded");
};

/** Failed to load: the lease fails with the sidecar's error. */
export const onModelsFailed = (draft: Draft, event: EventOf<"ModelsFailed">): void => {
  const lease = reported(draft, event);
  if (!lease) return;
  if (lease.phase !== "Loading" && lease.phase !== "Ready")
    return draft.reject({ event: event._tag, code: "FailedPrecondition", message: `lease ${event.leaseId} is ${lease.phase}`, subject: event.leaseId });
  endLease(draft, lease, "Failed", "LoadFailed", { code: "LoadFailed", message: event.error, details: { serverId: event.serverId } });
};
