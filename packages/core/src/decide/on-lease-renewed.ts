import { renew } from "../lease/clock.js";
import type { LeaseRecord } from "../lease/types.js";
import type { Draft } from "./draft.js";
import { setPhase, updateLease } from "./lifecycle.js";
import type { EventOf } from "./types.js";

/** The warm (expired, still loaded) lease called `name`, newest first: a renewal may bring it back. */
export const warmLeaseNamed = (draft: Draft, name: string): LeaseRecord | undefined => {
  let found: LeaseRecord | undefined;
  for (const lease of draft.leases.values())
    if (lease.spec.name === name && lease.phase === "Expiring" && lease.placement && (!found || lease.createdAt > found.createdAt || (lease.createdAt === found.createdAt && lease.id > found.id)))
      found = lease;
  return found;
};

/**
 * Bring a warm lease back to Ready: it takes its name again (if free) and is held until
 * its new expiry. Only a lease whose server is up and whose models were loaded comes back.
 */
export const canRevive = (draft: Draft, lease: LeaseRecord): boolean => {
  if (draft.names.get(lease.spec.name) !== undefined) return false;
  const server = lease.placement ? draft.servers.get(lease.placement.serverId) : undefined;
  return server !== undefined && server.state === "Ready" && lease.placement?.assigned === true && lease.expiresAt > draft.now;
};

export const revive = (draft: Draft, lease: LeaseRecord, reason: string): boolean => {
  if (!canRevive(draft, lease)) return false;
  const { warmUntil: _cooling, ...warm } = lease;
  const ready = setPhase(draft, warm, "Ready", reason);
  if (ready) draft.names.set(lease.spec.name, lease.id);
  return ready !== undefined;
};

/** An explicit renewal: extends the expiry (never shortens it) and adds the renewing holder. */
export const onLeaseRenewed = (draft: Draft, event: EventOf<"LeaseRenewed">): void => {
  const lease = draft.leaseByName(event.name) ?? warmLeaseNamed(draft, event.name);
  if (!lease) return draft.reject({ event: event._tag, code: "NotFound", message: `lease ${event.name} not found`, subject: event.name });
  if (event.duration !== undefined && !(event.duration >= 0))
    return draft.reject({ event: event._tag, code: "InvalidArgument", message: "a renewal's duration must be >= 0", subject: event.name });
  const holders = event.by !== undefined && !lease.holders.includes(event.by) ? [...lease.holders, event.by].sort() : lease.holders;
  const renewed = renew({ ...lease, holders }, draft.now, event.duration ?? lease.spec.minDuration);
  if (renewed.phase === "Expiring" && !canRevive(draft, renewed))
    return draft.reject({ event: event._tag, code: "FailedPrecondition", message: `lease ${event.name} expired and cannot come back`, subject: event.name });
  updateLease(draft, renewed);
  if (renewed.phase === "Expiring") revive(draft, renewed, "Renewed");
};
