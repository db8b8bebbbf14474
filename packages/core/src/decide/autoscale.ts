import { emptyAutoscalerMemory, type MetricSample } from "../autoscaler/types.js";
import type { LeaseRecord } from "../lease/types.js";
import type { DecideConfig } from "./config.js";
import type { Draft } from "./draft.js";
import { updateLease } from "./lifecycle.js";
import { resizeServer } from "./resize-server.js";

// Autoscaling, every sync period on Tick: each Ready bespoke lease with autoscaling asks its
// autoscaler (by the policy its spec names) for a replica count within [min, max]; new
// replicas are placed one by one (as many as fit), surplus ones go from the end. A server the
// backend scales itself (`scaledBy: "backend"`, a Kubernetes HPA) is left to it.

/**
 * How old a metric sample may be and still be acted on. Replicas report while they run; a lease
 * whose reports stopped (its sidecars gone, the hub cut off) has no current metric, and scaling
 * on its last one would chase a load long past, up or down. Without a sample the policies hold
 * (Kubernetes' HPA does the same when its metrics are unavailable). Default: three sync periods,
 * and at least three of the sidecars' default report interval (10 s), which backends that do not
 * set it to the sync period (Docker, Kubernetes) report at.
 */
export const sampleMaxAge = (autoscaler: DecideConfig["autoscaler"]): number =>
  autoscaler.sampleMaxAge ?? Math.max(3 * autoscaler.syncPeriod, 30_000);

const freshSample = (draft: Draft, lease: LeaseRecord): MetricSample | undefined =>
  lease.lastSample !== undefined && lease.lastSampleAt !== undefined && draft.now - lease.lastSampleAt <= sampleMaxAge(draft.config.autoscaler)
    ? lease.lastSample
    : undefined;

export const autoscale = (draft: Draft): void => {
  draft.lastAutoscaleAt = draft.now;
  for (const id of draft.leases.select((l) => l.phase === "Ready" && l.spec.autoscaling !== undefined)) {
    const lease = draft.leases.get(id)!;
    const spec = lease.spec.autoscaling;
    if (!spec || lease.phase !== "Ready" || lease.spec.where.kind !== "bespoke" || !lease.placement) continue;
    const server = draft.servers.get(lease.placement.serverId);
    const policy = draft.policies.autoscaler(spec.policy);
    if (!server || !policy || server.scaledBy === "backend") continue;
    const current = server.replicas.length;
    const sample = freshSample(draft, lease);
    const result = policy.recommend(
      { now: draft.now, spec, currentReplicas: current, ...(sample ? { sample } : {}) },
      lease.autoscaler ?? emptyAutoscalerMemory,
    );
    // The contract says the policy stays within bounds; the clamp keeps the cluster safe if one does not.
    const desired = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, 1, Math.round(result.desired)));
    updateLease(draft, { ...lease, autoscaler: result.memory });
    const reached = resizeServer(draft, lease, server, desired);
    if (reached === current) continue;
    draft.record({
      kind: "Scaling",
      leaseId: id,
      leaseName: lease.spec.name,
      policy: policy.name,
      outcome: reached === desired ? "Scaled" : "ScaledPartly",
      serverId: server.id,
      scaling: { from: current, to: reached, reason: { ...result.reason, recommended: result.desired, desired } },
    });
  }
};
