import type { Draft } from "./draft.js";
import { endLease, updateLease } from "./lifecycle.js";
import { warmLeaseNamed } from "./on-lease-renewed.js";
import type { EventOf } from "./types.js";

/**
 * A holder lets go. The lease ends (its models unload unless another lease on the server
 * holds them) when no holder is left, or when the release names no holder.
 */
export const onLeaseReleased = (draft: Draft, event: EventOf<"LeaseReleased">): void => {
  const lease = draft.leaseByName(event.name) ?? warmLeaseNamed(draft, event.name);
  if (!lease) return draft.reject({ event: event._tag, code: "NotFound", message: `lease ${event.name} not found`, subject: event.name });
  if (event.by !== undefined) {
    if (!lease.holders.includes(event.by))
      return draft.reject({ event: event._tag, code: "NotFound", message: `${event.by} does not hold lease ${event.name}`, subject: event.name });
    const holders = lease.holders.filter((h) => h !== event.by);
    if (holders.length > 0) return updateLease(draft, { ...lease, holders });
  }
  endLease(draft, { ...lease, holders: [] }, "Released", "Released");
};
