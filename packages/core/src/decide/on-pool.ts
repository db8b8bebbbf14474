import { isTerminal } from "../lease/phase.js";
import type { Draft } from "./draft.js";
import { deleteServer, endLease } from "./lifecycle.js";
import { newPoolInstance } from "./place.js";
import type { EventOf } from "./types.js";
import { poolServers } from "./views.js";

/** Bring a pool up to its minimum instances (as many as fit now; Tick tries again). */
export const ensureMinInstances = (draft: Draft, pool: string): void => {
  const spec = draft.pools.get(pool);
  if (!spec) return;
  for (let n = poolServers(draft, pool).length; n < spec.minInstances; n++) if (!newPoolInstance(draft, pool)) return;
};

export const onPoolDefined = (draft: Draft, event: EventOf<"PoolDefined">): void => {
  const spec = event.spec;
  if (!(spec.minInstances >= 0) || spec.maxInstances < spec.minInstances)
    return draft.reject({ event: event._tag, code: "InvalidArgument", message: `pool ${spec.name}: need 0 <= minInstances <= maxInstances`, subject: spec.name });
  // A redefinition applies to instances made from now on; existing ones keep their template.
  draft.pools.set(spec.name, spec);
  ensureMinInstances(draft, spec.name);
};

/** A pool goes only when no live lease uses it; its instances (and warm leases on them) go with it. */
export const onPoolDeleted = (draft: Draft, event: EventOf<"PoolDeleted">): void => {
  if (!draft.pools.get(event.name)) return draft.reject({ event: event._tag, code: "NotFound", message: `pool ${event.name} not found`, subject: event.name });
  const instances = poolServers(draft, event.name);
  const inUse = instances.some((s) => draft.leasesOn(s.id).some((l) => !isTerminal(l.phase) && l.phase !== "Expiring"));
  if (inUse)
    return draft.reject({ event: event._tag, code: "FailedPrecondition", message: `pool ${event.name} still has leases`, subject: event.name });
  for (const server of instances) {
    for (const lease of draft.leasesOn(server.id)) endLease(draft, lease, "Released", "PoolDeleted");
    deleteServer(draft, draft.servers.get(server.id)!);
  }
  draft.pools.delete(event.name);
};
