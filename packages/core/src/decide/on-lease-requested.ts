import { expiresAt } from "../lease/clock.js";
import { modelKey } from "../lease/ownership.js";
import type { LeaseRecord } from "../lease/types.js";
import type { Draft } from "./draft.js";
import { setPhase } from "./lifecycle.js";
import { placeLease } from "./place.js";
import type { EventOf } from "./types.js";
import { groupsOf, memoryGuess } from "./views.js";

/** A new lease: Pending, then Placing and placed at once (or failed with the reasons). */
export const onLeaseRequested = (draft: Draft, event: EventOf<"LeaseRequested">): void => {
  const { id, spec } = event;
  if (draft.leases.get(id)) return draft.reject({ event: event._tag, code: "AlreadyExists", message: `lease id ${id} exists`, subject: id });
  if (draft.names.get(spec.name) !== undefined)
    return draft.reject({ event: event._tag, code: "AlreadyExists", message: `lease ${spec.name} exists`, subject: spec.name });
  if (spec.models.length === 0) return draft.reject({ event: event._tag, code: "InvalidArgument", message: "a lease needs at least one model", subject: spec.name });
  // Judge the groups with the event's facts over the catalog's before writing anything: a
  // rejected event leaves the snapshot as it was.
  const facts = new Map((event.models ?? []).map((f) => [modelKey(f.model), { ...draft.models.get(modelKey(f.model)), ...f }] as const));
  const groups = groupsOf(draft, spec, (key) => facts.get(key));
  if (groups.length > 1)
    return draft.reject({
      event: event._tag,
      code: "InvalidArgument",
      message: `the models of lease ${spec.name} belong to different groups (${groups.join(", ")}) and cannot share a server`,
      subject: spec.name,
    });
  for (const [key, merged] of facts) draft.models.set(key, merged);
  const draftLease = {
    id,
    spec,
    phase: "Pending",
    group: groups[0]!,
    createdAt: draft.now,
    phaseSince: draft.now,
    holders: [event.holder ?? spec.tenant],
    lastActivityAt: draft.now,
    renewedUntil: 0,
    expiresAt: 0,
    requests: 0,
    recentGaps: [],
    memory: memoryGuess(draft, spec),
    conditions: [],
  } satisfies LeaseRecord;
  const lease: LeaseRecord = { ...draftLease, expiresAt: expiresAt(draftLease) };
  draft.leases.set(id, lease);
  draft.names.set(spec.name, id);
  draft.changes.push({ leaseId: id, to: "Pending" });
  const placing = setPhase(draft, lease, "Placing", "Requested");
  if (placing) placeLease(draft, placing);
};
