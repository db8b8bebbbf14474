import { emptyAutoscalerMemory } from "../autoscaler/types.js";
import type { LeaseRecord } from "../lease/types.js";
import { placementRequestOf, releaseReplica } from "./cluster.js";
import { nodeRules } from "./colocation.js";
import type { Draft } from "./draft.js";
import { updateLease } from "./lifecycle.js";
import { placeReplicas } from "./servers.js";
import type { ReplicaPlacement, ServerRecord } from "./types.js";

// Autoscaling, every sync period on Tick: each Ready bespoke lease with autoscaling asks its
// autoscaler (by the policy its spec names) for a replica count within [min, max]; new
// replicas are placed one by one (as many as fit), surplus ones go from the end.

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

export const autoscale = (draft: Draft): void => {
  draft.lastAutoscaleAt = draft.now;
  for (const id of draft.leases.select((l) => l.phase === "Ready" && l.spec.autoscaling !== undefined)) {
    const lease = draft.leases.get(id)!;
    const spec = lease.spec.autoscaling;
    if (!spec || lease.phase !== "Ready" || lease.spec.where.kind !== "bespoke" || !lease.placement) continue;
    const server = draft.servers.get(lease.placement.serverId);
    const policy = draft.policies.autoscaler(spec.policy);
    if (!server || !policy) continue;
    const current = server.replicas.length;
    const result = policy.recommend(
      { now: draft.now, spec, currentReplicas: current, ...(lease.lastSample ? { sample: lease.lastSample } : {}) },
      lease.autoscaler ?? emptyAutoscalerMemory,
    );
    // The contract says the policy stays within bounds; the clamp keeps the cluster safe if one does not.
    const desired = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, 1, Math.round(result.desired)));
    updateLease(draft, { ...lease, autoscaler: result.memory });
    if (desired === current) continue;
    let replicas: readonly ReplicaPlacement[];
    if (desired > current) replicas = [...server.replicas, ...scaleUp(draft, lease, server, desired - current)];
    else {
      for (const replica of server.replicas.slice(desired)) releaseReplica(draft, replica, server.template.resources, server.group);
      replicas = server.replicas.slice(0, desired);
    }
    if (replicas.length === current) continue;
    draft.servers.set(server.id, { ...server, replicas, readyReplicas: Math.min(server.readyReplicas, replicas.length) });
    draft.emit({ _tag: "ScaleServer", serverId: server.id, replicas: replicas.length, placements: replicas });
    draft.record({
      kind: "Scaling",
      leaseId: id,
      leaseName: lease.spec.name,
      policy: policy.name,
      outcome: replicas.length === desired ? "Scaled" : "ScaledPartly",
      serverId: server.id,
      scaling: { from: current, to: replicas.length, reason: { ...result.reason, recommended: result.desired, desired } },
    });
  }
};
