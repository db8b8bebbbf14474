import type { Snapshot } from "@berth/core";
import type { AssignedLease } from "@berth/api/sidecar";

/**
 * The complete desired state of one server's sidecar, read off the snapshot: every lease bound
 * to it that decide has assigned (AssignLease sent, no UnassignLease since). Level-triggered:
 * after a restart the snapshot alone says what each sidecar should hold.
 */
export const desiredLeases = (snapshot: Snapshot, serverId: string): AssignedLease[] => {
  const server = snapshot.servers[serverId];
  if (server === undefined) return [];
  const out: AssignedLease[] = [];
  for (const id of server.leases) {
    const lease = snapshot.leases[id];
    if (lease === undefined || lease.placement?.serverId !== serverId || !lease.placement.assigned) continue;
    out.push({
      lease_id: lease.id,
      lease_name: lease.spec.name,
      models: lease.spec.models.map((m) => ({ name: m.name, version: m.version ?? 0, repository: m.repository })),
    });
  }
  return out;
};

/** A comparable key of a desired state (to send only changes). */
export const desiredKey = (leases: readonly AssignedLease[]): string =>
  JSON.stringify(leases.map((l) => [l.lease_id, l.models.map((m) => `${m.repository}/${m.name}:${m.version}`)]));
