// Kubernetes-only parts of serving leases: a Service per lease name selecting the pods that
// hold the lease, the pod labels that put a replica in (models loaded) or out (unloaded), and a
// HorizontalPodAutoscaler per bespoke lease in `hpa` mode, in the autoscaling version the
// server serves. berthd calls these from its executor; the Backend interface stays generic.
import { Effect } from "effect";
import { backendError, type BackendError } from "../errors.js";
import { replicaId } from "../spec.js";
import type { KubernetesBackendHandle } from "./kubernetes-backend.js";
import { KUBERNETES_BACKEND_NAME, unavailable } from "./kubernetes-backend.js";
import { chooseHpaVersion, type HpaVersion, type LeaseAutoscaling, leaseHpa, leaseLabel, LEASE_LABEL_VALUE, leaseService, leaseServiceName } from "./objects.js";

export interface KubernetesLeaseRouting {
  /** Creates or updates the lease's Service, owned by the servers that may hold it. */
  readonly ensureLeaseService: (leaseName: string, serverIds: readonly string[]) => Effect.Effect<void, BackendError>;
  readonly deleteLeaseService: (leaseName: string) => Effect.Effect<void, BackendError>;
  /**
   * Puts a replica's pods in the lease's Service (its models are loaded there) or takes them out.
   * A replaced pod starts without the label: call this again when its sidecar reports the
   * lease loaded on it. Returns the pods labelled.
   */
  readonly setLeaseMembership: (serverId: string, index: number, leaseName: string, loaded: boolean) => Effect.Effect<readonly string[], BackendError>;
  /** The HPA of a bespoke lease; its version is chosen from discovery (v2, else v2beta2). */
  readonly ensureLeaseAutoscaler: (autoscaling: LeaseAutoscaling, ownerServerId: string) => Effect.Effect<HpaVersion, BackendError>;
  readonly deleteLeaseAutoscaler: (leaseName: string) => Effect.Effect<void, BackendError>;
}

export function kubernetesLeaseRouting(handle: KubernetesBackendHandle): KubernetesLeaseRouting {
  const { client, config } = handle;
  const ns = config.namespace;
  let hpaVersion: HpaVersion | undefined;
  const discoverHpa = Effect.gen(function* () {
    if (hpaVersion !== undefined) return hpaVersion;
    const served = yield* client.groupVersions("autoscaling").pipe(Effect.mapError(unavailable));
    const chosen = chooseHpaVersion(served);
    if (chosen === undefined) {
      return yield* Effect.fail(backendError(KUBERNETES_BACKEND_NAME, { _tag: "Unavailable", message: `the API server serves no autoscaling/v2 or v2beta2 (it serves ${served.join(", ")})` }));
    }
    hpaVersion = chosen;
    return chosen;
  });

  return {
    ensureLeaseService: (leaseName, serverIds) =>
      Effect.gen(function* () {
        const owners = yield* Effect.forEach(serverIds, handle.ownerOf);
        yield* client.apply(leaseService(leaseName, owners, config)).pipe(Effect.mapError(unavailable));
      }),
    deleteLeaseService: (leaseName) => client.remove("v1", "Service", ns, leaseServiceName(leaseName)).pipe(Effect.mapError(unavailable)),
    setLeaseMembership: (serverId, index, leaseName, loaded) =>
      Effect.gen(function* () {
        // The cache may lag a just-created pod: ask the API server.
        const listed = yield* client.list("v1", "Pod", ns, `berth.dev/server-id=${serverId},berth.dev/replica=${index}`).pipe(Effect.mapError(unavailable));
        const names = listed.items
          .filter((p) => (p.metadata as Record<string, unknown>).deletionTimestamp === undefined)
          .map((p) => String((p.metadata as Record<string, unknown>).name));
        if (names.length === 0 && loaded) {
          return yield* Effect.fail(backendError(KUBERNETES_BACKEND_NAME, { _tag: "NotFound", serverId: replicaId(serverId, index) }));
        }
        yield* Effect.forEach(names, (name) => client.patchLabels("v1", "Pod", ns, name, { [leaseLabel(leaseName)]: loaded ? LEASE_LABEL_VALUE : null }).pipe(Effect.mapError(unavailable)), {
          discard: true,
        });
        return names;
      }),
    ensureLeaseAutoscaler: (autoscaling, ownerServerId) =>
      Effect.gen(function* () {
        const version = yield* discoverHpa;
        const owner = yield* handle.ownerOf(ownerServerId);
        yield* client.apply(leaseHpa(version, autoscaling, owner, config)).pipe(Effect.mapError(unavailable));
        return version;
      }),
    deleteLeaseAutoscaler: (leaseName) =>
      Effect.gen(function* () {
        const version = yield* discoverHpa;
        yield* client.remove(version, "HorizontalPodAutoscaler", ns, leaseServiceName(leaseName)).pipe(Effect.mapError(unavailable));
      }),
  };
}
