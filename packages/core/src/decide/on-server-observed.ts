import { releaseServer } from "./cluster.js";
import type { Draft } from "./draft.js";
import { onBackendScaled } from "./on-backend-scaled.js";
import { assign, endLease, setPhase } from "./lifecycle.js";
import { placeLease } from "./place.js";
import type { EventOf, ServerRecord } from "./types.js";

/** Up: leases waiting on it are handed to its sidecar (again, after a restart). */
const up = (draft: Draft, server: ServerRecord, readyReplicas: number): void => {
  const wasUp = server.state === "Ready";
  const current: ServerRecord = { ...server, state: "Ready", readyReplicas };
  draft.servers.set(server.id, current);
  if (wasUp) return;
  for (const lease of draft.leasesOn(server.id)) {
    if (lease.phase === "Placing" || lease.phase === "Loading") assign(draft, lease, current);
  }
};

/**
 * Down: it restarts; its leases wait to load again (and are handed to the sidecar again when
 * it is back, so a report from before the restart no longer counts). Warm leases lose their models.
 */
const down = (draft: Draft, server: ServerRecord): void => {
  draft.servers.set(server.id, { ...server, state: "Down", readyReplicas: 0 });
  for (const lease of draft.leasesOn(server.id)) {
    if (lease.phase === "Expiring") {
      endLease(draft, lease, "Released", "ServerDown");
      continue;
    }
    const waiting = { ...lease, placement: { serverId: server.id, assigned: false } };
    draft.leases.set(lease.id, waiting);
    if (lease.phase === "Ready") setPhase(draft, waiting, "Loading", "ServerDown");
  }
};

/**
 * Gone: its commitments go back; its leases are placed again, warm ones end. Gone with a
 * `failure`: its leases fail with it instead (placing them again would make the same failing server).
 */
const gone = (draft: Draft, server: ServerRecord, failure?: string): void => {
  const leases = draft.leasesOn(server.id);
  releaseServer(draft, server);
  // Nothing to unassign on a server that no longer exists: drop the bindings silently.
  for (const lease of leases) {
    const { placement: _placement, ...unbound } = lease;
    draft.leases.set(lease.id, unbound);
  }
  draft.servers.delete(server.id);
  for (const lease of leases) {
    const current = draft.leases.get(lease.id)!;
    if (current.phase === "Expiring") endLease(draft, current, "Released", "ServerGone");
    else if (current.phase === "Released" || current.phase === "Failed") continue;
    else if (failure !== undefined) endLease(draft, current, "Failed", "ServerFailed", { code: "ServerFailed", message: failure, details: { serverId: server.id } });
    else {
      const placing = setPhase(draft, current, "Placing", "ServerGone");
      if (placing) placeLease(draft, placing);
    }
  }
};

export const onServerObserved = (draft: Draft, event: EventOf<"ServerObserved">): void => {
  const server = draft.servers.get(event.serverId);
  if (!server) return draft.reject({ event: event._tag, code: "NotFound", message: `server ${event.serverId} is not known`, subject: event.serverId });
  if (event.scaledTo !== undefined && event.state !== "Gone") onBackendScaled(draft, server, event.scaledTo);
  const current = draft.servers.get(event.serverId)!;
  if (event.state === "Up") up(draft, current, Math.max(0, event.readyReplicas));
  else if (event.state === "Down") down(draft, current);
  else gone(draft, current, event.failure);
};

