import type { Draft } from "./draft.js";
import { resizeServer } from "./resize-server.js";
import type { ServerRecord } from "./types.js";

/** The policy name of a backend-decided resize in the decision log. */
export const BACKEND_SCALED_POLICY = "backend";

/**
 * A replica count decided outside the core (ServerObserved.scaledTo: a Kubernetes HPA moved its
 * scale target). It applies to the server of a bespoke autoscaled lease that is Loading or
 * Ready: clamped to the lease's [minReplicas, maxReplicas], new replicas placed as they fit (no
 * over-commit: the same placement as berthd's autoscaler), and the server is marked as scaled by
 * its backend so berthd's autoscaler leaves it alone. Any other server ignores it: the count is
 * a report, and the rest of the observation still holds.
 */
export const onBackendScaled = (draft: Draft, server: ServerRecord, scaledTo: number): void => {
  if (!Number.isFinite(scaledTo) || server.kind !== "bespoke" || server.owner === undefined) return;
  const lease = draft.leases.get(server.owner);
  const spec = lease?.spec.autoscaling;
  if (lease === undefined || spec === undefined || (lease.phase !== "Ready" && lease.phase !== "Loading") || lease.placement?.serverId !== server.id) return;
  const marked: ServerRecord = server.scaledBy === "backend" ? server : { ...server, scaledBy: "backend" };
  if (marked !== server) draft.servers.set(server.id, marked);
  const desired = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, 1, Math.round(scaledTo)));
  const current = marked.replicas.length;
  const reached = resizeServer(draft, lease, marked, desired);
  if (reached === current) return;
  draft.record({
    kind: "Scaling",
    leaseId: lease.id,
    leaseName: lease.spec.name,
    policy: BACKEND_SCALED_POLICY,
    outcome: reached === desired ? "Scaled" : "ScaledPartly",
    serverId: server.id,
    scaling: { from: current, to: reached, reason: { scaledTo, desired } },
  });
};
