import { recordActivity } from "../lease/clock.js";
import { modelMatches } from "../lease/ownership.js";
import { isLive } from "../lease/phase.js";
import type { LeaseRecord } from "../lease/types.js";
import type { Draft } from "./draft.js";
import { noteFleetGap } from "./fleet-gaps.js";
import { updateLease } from "./lifecycle.js";
import { revive, warmLeaseNamed } from "./on-lease-renewed.js";
import type { EventOf } from "./types.js";

const touch = (draft: Draft, lease: LeaseRecord, requests: number): void => {
  noteFleetGap(draft, lease.lastActivityAt);
  const active = recordActivity(lease, draft.now, requests, draft.config.recentGapsLimit);
  updateLease(draft, active);
  // Requests for a warm lease's models bring it back when renewal by activity is on.
  if (active.phase === "Expiring" && active.spec.renewal.enabled) revive(draft, active, "Activity");
};

/** Requests seen for a lease (by name) or for a model (every live or warm lease holding it). */
export const onActivity = (draft: Draft, event: EventOf<"Activity">): void => {
  const requests = Math.max(0, event.requests);
  if (event.lease !== undefined) {
    const lease = draft.leaseByName(event.lease) ?? warmLeaseNamed(draft, event.lease);
    if (!lease) return draft.reject({ event: event._tag, code: "NotFound", message: `lease ${event.lease} not found`, subject: event.lease });
    return touch(draft, lease, requests);
  }
  if (event.model === undefined) return draft.reject({ event: event._tag, code: "InvalidArgument", message: "activity names no lease and no model" });
  const model = event.model;
  const holding = draft.leases
    .select((l) => (isLive(l.phase) || (l.phase === "Expiring" && l.placement !== undefined)) && l.spec.models.some((m) => modelMatches(m, model)))
    .map((id) => draft.leases.get(id)!);
  if (holding.length === 0) return draft.reject({ event: event._tag, code: "NotFound", message: `no lease holds model ${model}`, subject: model });
  for (const lease of holding) touch(draft, draft.leases.get(lease.id)!, requests);
};

/** A metric sample for a lease's autoscaler (used at the next sync). */
export const onMetricObserved = (draft: Draft, event: EventOf<"MetricObserved">): void => {
  const lease = draft.leases.get(event.leaseId);
  if (!lease || !isLive(lease.phase))
    return draft.reject({ event: event._tag, code: "NotFound", message: `lease ${event.leaseId} is not live`, subject: event.leaseId });
  updateLease(draft, { ...lease, lastSample: event.sample, lastSampleAt: draft.now });
};
