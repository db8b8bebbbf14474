import { Either } from "effect";
import { withExpiry } from "../lease/clock.js";
import { modelsToUnload } from "../lease/ownership.js";
import { isLive, transition } from "../lease/phase.js";
import type { LeaseCondition, LeaseFailure, LeasePhase, LeaseRecord } from "../lease/types.js";
import { releaseServer } from "./cluster.js";
import type { Draft } from "./draft.js";
import type { ServerRecord } from "./types.js";

// The moves every handler makes on leases and servers. Each keeps the snapshot's cross
// references true: lease.placement <-> server.leases, names <-> live leases, node use <->
// server replicas.

const setCondition = (conditions: readonly LeaseCondition[], condition: LeaseCondition): LeaseCondition[] => [
  ...conditions.filter((c) => c.type !== condition.type),
  condition,
];

/**
 * Move a lease to `to` through the phase machine. An illegal move is a bug in a handler;
 * decide is total, so it becomes a rejection (visible in tests) instead of a throw.
 */
export const setPhase = (draft: Draft, lease: LeaseRecord, to: LeasePhase, reason: string): LeaseRecord | undefined => {
  const moved = transition(lease, to, draft.now);
  if (Either.isLeft(moved)) {
    draft.reject({ event: draft.eventTag, code: "Internal", message: `illegal transition ${moved.left.from} -> ${moved.left.to}`, subject: lease.id });
    return undefined;
  }
  // The first Ready starts the lease clock (see lease/clock.ts).
  const started = to === "Ready" && moved.right.readyAt === undefined ? withExpiry({ ...moved.right, readyAt: draft.now }) : moved.right;
  const next: LeaseRecord = {
    ...started,
    conditions: setCondition(lease.conditions, { type: "Phase", status: true, reason: `${to}:${reason}`, at: draft.now }),
  };
  draft.leases.set(next.id, next);
  draft.changes.push({ leaseId: lease.id, from: lease.phase, to });
  // A name belongs to the live lease holding it; an expiring or ended lease gives it up.
  if (!isLive(to) && draft.names.get(lease.spec.name) === lease.id) draft.names.delete(lease.spec.name);
  return next;
};

export const updateLease = (draft: Draft, lease: LeaseRecord): void => draft.leases.set(lease.id, lease);

/** Bind a lease to a server (both sides). */
export const bind = (draft: Draft, lease: LeaseRecord, server: ServerRecord): LeaseRecord => {
  const bound: LeaseRecord = { ...lease, placement: { serverId: server.id, assigned: false } };
  draft.leases.set(bound.id, bound);
  if (!server.leases.includes(lease.id)) draft.servers.set(server.id, { ...server, leases: [...server.leases, lease.id].sort() });
  return bound;
};

/**
 * Unbind a lease from its server, telling the sidecar to drop it (and unload the models no
 * other lease on the server holds) when it had been assigned there.
 */
export const unbind = (draft: Draft, lease: LeaseRecord): LeaseRecord => {
  const placement = lease.placement;
  if (!placement) return lease;
  const server = draft.servers.get(placement.serverId);
  if (server && placement.assigned)
    draft.emit({
      _tag: "UnassignLease",
      serverId: server.id,
      leaseId: lease.id,
      unload: modelsToUnload(lease, server.id, draft.leasesOn(server.id)),
    });
  if (server) draft.servers.set(server.id, { ...server, leases: server.leases.filter((id) => id !== lease.id) });
  const { placement: _gone, ...rest } = lease;
  const unbound: LeaseRecord = rest;
  draft.leases.set(unbound.id, unbound);
  return unbound;
};

/** Remove a server: its node commitments go back, and the executor deletes it. */
export const deleteServer = (draft: Draft, server: ServerRecord): void => {
  releaseServer(draft, server);
  draft.servers.delete(server.id);
  draft.emit({ _tag: "DeleteServer", serverId: server.id });
};

/** Delete a bespoke server whose owner has left it. */
const dropOwnedServer = (draft: Draft, serverId: string | undefined): void => {
  if (serverId === undefined) return;
  const server = draft.servers.get(serverId);
  if (server && server.kind === "bespoke" && server.leases.length === 0) deleteServer(draft, server);
};

/** End a lease: unbind it (unloading what only it held), drop its bespoke server, phase `to`. */
export const endLease = (draft: Draft, lease: LeaseRecord, to: "Released" | "Failed", reason: string, failure?: LeaseFailure): void => {
  const serverId = lease.placement?.serverId;
  const unbound = unbind(draft, lease);
  const ended = setPhase(draft, unbound, to, reason);
  if (ended && failure) {
    draft.leases.set(ended.id, { ...ended, failure });
    draft.emit({ _tag: "MarkFailed", leaseId: ended.id, reason: failure });
  }
  dropOwnedServer(draft, serverId);
};

/** Tell the sidecar of a server to load a lease (the server is up), and move the lease to Loading. */
export const assign = (draft: Draft, lease: LeaseRecord, server: ServerRecord): void => {
  const assigned: LeaseRecord = { ...lease, placement: { serverId: server.id, assigned: true } };
  draft.leases.set(assigned.id, assigned);
  draft.emit({ _tag: "AssignLease", serverId: server.id, leaseId: lease.id, models: lease.spec.models });
  if (lease.phase !== "Loading") setPhase(draft, assigned, "Loading", "Assigned");
};
