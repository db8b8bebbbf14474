import type { LeaseRecord } from "../lease/types.js";
import { placementRequestOf, releaseReplica } from "./cluster.js";
import { nodeRules } from "./colocation.js";
import type { Draft } from "./draft.js";
import { placeReplicas } from "./servers.js";
import type { ReplicaPlacement, ServerRecord } from "./types.js";

// Resizing a bespoke lease's server to a replica count (berthd's autoscaler's or the backend's):
// new replicas are placed one by one (as many as fit, within the lease's colocation rules),
// surplus ones go from the end and give their commitments back. ScaleServer carries the result.

const scaleUp = (draft: Draft, lease: LeaseRecord, server: ServerRecord, add: number): ReplicaPlacement[] => {
  const allowed = nodeRules(draft, lease)?.allowed;
  const request = placementRequestOf(server.id, server.template.resources, server.template.resources.gpuMemory, server.group);
  const added: ReplicaPlacement[] = [];
  for (let i = 0; i < add; i++) {
    const placed = placeReplicas(draft, request, server.template, 1, allowed);
    if (placed.placements.length === 0) break;
    added.push(...placed.placements);
  }
  return added;
};

/**
 * Resizes `server` towards `desired` replicas and emits ScaleServer when the count changed.
 * Returns the replica count reached (fewer than `desired` when not all fit).
 */
export const resizeServer = (draft: Draft, lease: LeaseRecord, server: ServerRecord, desired: number): number => {
  const current = server.replicas.length;
  if (desired === current) return current;
  let replicas: readonly ReplicaPlacement[];
  if (desired > current) replicas = [...server.replicas, ...scaleUp(draft, lease, server, desired - current)];
  else {
    for (const replica of server.replicas.slice(desired)) releaseReplica(draft, replica, server.template.resources, server.group);
    replicas = server.replicas.slice(0, desired);
  }
  if (replicas.length === current) return current;
  draft.servers.set(server.id, { ...server, replicas, readyReplicas: Math.min(server.readyReplicas, replicas.length) });
  draft.emit({ _tag: "ScaleServer", serverId: server.id, replicas: replicas.length, placements: replicas });
  return replicas.length;
};
