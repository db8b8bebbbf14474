// Kubernetes-only parts of serving leases: a Service per lease name selecting the pods that
// hold the lease, the pod labels that put a replica in (models loaded) or out (unloaded), and a
// HorizontalPodAutoscaler per bespoke lease in `hpa` mode, in the autoscaling version the server
// serves, on the server's BerthServer scale target (scale-target.ts). berthd reaches all of it
// through the Backend's generic `leaseRouting` (leaseRoutingOf).
import { Duration, Effect, Schedule } from "effect";
import type { BackendAutoscalerShape, LeaseAutoscalerSpec, LeaseRoutingShape } from "../backend.js";
import { backendError, type BackendError } from "../errors.js";
import { LABEL_MANAGED_BY, replicaId } from "../spec.js";
import { KUBERNETES_BACKEND_NAME, unavailable } from "./backend-name.js";
import type { KubernetesBackendConfig } from "./config.js";
import type { KubeClient } from "./kube-client.js";
import {
  chooseHpaVersion,
  type HpaVersion,
  KUBERNETES_MANAGED_BY,
  type LeaseAutoscaling,
  leaseHpa,
  leaseLabel,
  LEASE_LABEL_VALUE,
  leaseService,
  leaseServiceName,
  type OwnerRef,
} from "./objects.js";
import {
  SCALE_TARGET_API_VERSION,
  SCALE_TARGET_CRD_NAME,
  SCALE_TARGET_KIND,
  scaleTarget,
  scaleTargetCrd,
  scaleTargetName,
  scaleTargetReplicas,
  scaleTargetStatusReplicas,
} from "./scale-target.js";

export interface KubernetesLeaseRouting {
  /** Creates or updates the lease's Service, owned by the servers that may hold it. */
  readonly ensureLeaseService: (leaseName: string, serverIds: readonly string[]) => Effect.Effect<void, BackendError>;
  readonly deleteLeaseService: (leaseName: string) => Effect.Effect<void, BackendError>;
  /** The lease names of the Services the backend made (label `berth.dev/lease`). */
  readonly leaseServices: () => Effect.Effect<readonly string[], BackendError>;
  /**
   * Puts a replica's pods in the lease's Service (its models are loaded there) or takes them out.
   * A replaced pod starts without the label: call this again when its sidecar reports the
   * lease loaded on it. Returns the pods labelled.
   */
  readonly setLeaseMembership: (serverId: string, index: number, leaseName: string, loaded: boolean) => Effect.Effect<readonly string[], BackendError>;
  /** The HPA of a bespoke lease; its version is chosen from discovery (v2, else v2beta2). */
  readonly ensureLeaseAutoscaler: (autoscaling: LeaseAutoscaling, ownerServerId: string) => Effect.Effect<HpaVersion, BackendError>;
  readonly deleteLeaseAutoscaler: (leaseName: string) => Effect.Effect<void, BackendError>;
  /** `hpa` mode: the lease's HPA on its server's BerthServer (made at `replicas` when absent). */
  readonly ensureHpa: (spec: LeaseAutoscalerSpec, replicas: number) => Effect.Effect<HpaVersion, BackendError>;
  /** Writes the server's replica count to its BerthServer's status; returns its `spec.replicas` (the HPA's). */
  readonly syncScaleTarget: (serverId: string, replicas: number) => Effect.Effect<number | undefined, BackendError>;
}

/** A Kubernetes quantity for a target value: whole numbers as they are, others in thousandths. */
export const targetQuantity = (value: number): string => (Number.isInteger(value) ? String(value) : `${Math.max(1, Math.round(value * 1000))}m`);

/** What lease routing needs of the backend (its handle has all of it). */
export interface LeaseRoutingParts {
  readonly client: KubeClient;
  readonly config: KubernetesBackendConfig;
  readonly ownerOf: (serverId: string) => Effect.Effect<OwnerRef, BackendError>;
}

export function kubernetesLeaseRouting(handle: LeaseRoutingParts): KubernetesLeaseRouting {
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

  let crdReady = !config.installScaleTargetCrd;
  const notEstablished = backendError(KUBERNETES_BACKEND_NAME, { _tag: "Unavailable", message: `the ${SCALE_TARGET_CRD_NAME} CustomResourceDefinition is not established` });
  // The CRD is cluster-wide: applied once, then waited for (a new kind is served once Established).
  const ensureCrd = Effect.gen(function* () {
    if (crdReady) return;
    yield* client.apply(scaleTargetCrd()).pipe(Effect.mapError(unavailable));
    yield* client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", SCALE_TARGET_CRD_NAME).pipe(
      Effect.mapError(unavailable),
      Effect.filterOrFail(
        (crd) => ((crd?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True"),
        () => notEstablished,
      ),
      Effect.retry(Schedule.spaced(Duration.millis(200)).pipe(Schedule.upTo(Duration.seconds(20)))),
    );
    crdReady = true;
  });
  const getTarget = (serverId: string) => client.get(SCALE_TARGET_API_VERSION, SCALE_TARGET_KIND, ns, scaleTargetName(serverId)).pipe(Effect.mapError(unavailable));
  const ensureTarget = (serverId: string, replicas: number) =>
    Effect.gen(function* () {
      yield* ensureCrd;
      if ((yield* getTarget(serverId)) !== undefined) return;
      const owner = yield* handle.ownerOf(serverId);
      // Created with spec.replicas (server-side apply would take spec.replicas back from the HPA
      // on every later apply, so later writes leave spec out).
      yield* client.create(scaleTarget(serverId, replicas, owner, config, true)).pipe(
        Effect.catchIf((e) => e.status === 409, () => Effect.void),
        Effect.mapError(unavailable),
      );
    });

  const ensureHpa = (spec: LeaseAutoscalerSpec, replicas: number) =>
    Effect.gen(function* () {
      yield* ensureTarget(spec.serverId, replicas);
      const version = yield* discoverHpa;
      const owner = yield* handle.ownerOf(spec.serverId);
      const autoscaling: LeaseAutoscaling = {
        leaseName: spec.leaseName,
        target: { apiVersion: SCALE_TARGET_API_VERSION, kind: SCALE_TARGET_KIND, name: scaleTargetName(spec.serverId) },
        metric: `${config.hpaMetricPrefix}${spec.metric}`,
        targetAverageValue: targetQuantity(spec.target),
        minReplicas: spec.minReplicas,
        maxReplicas: spec.maxReplicas,
      };
      yield* client.apply(leaseHpa(version, autoscaling, owner, config)).pipe(Effect.mapError(unavailable));
      return version;
    });

  const syncScaleTarget = (serverId: string, replicas: number) =>
    Effect.gen(function* () {
      const target = yield* getTarget(serverId);
      if (target === undefined) return undefined;
      if (scaleTargetStatusReplicas(target) !== replicas) {
        const owner = yield* handle.ownerOf(serverId);
        yield* client.apply(scaleTarget(serverId, replicas, owner, config, false)).pipe(Effect.mapError(unavailable));
      }
      return scaleTargetReplicas(target);
    });

  return {
    ensureHpa,
    syncScaleTarget,
    ensureLeaseService: (leaseName, serverIds) =>
      Effect.gen(function* () {
        const owners = yield* Effect.forEach(serverIds, handle.ownerOf);
        yield* client.apply(leaseService(leaseName, owners, config)).pipe(Effect.mapError(unavailable));
      }),
    deleteLeaseService: (leaseName) => client.remove("v1", "Service", ns, leaseServiceName(leaseName)).pipe(Effect.mapError(unavailable)),
    leaseServices: () =>
      client.list("v1", "Service", ns, `${LABEL_MANAGED_BY}=${KUBERNETES_MANAGED_BY},app.kubernetes.io/component=lease`).pipe(
        Effect.mapError(unavailable),
        Effect.map((l) => l.items.map((s) => ((s.metadata as { labels?: Record<string, string> }).labels ?? {})["berth.dev/lease"] ?? "").filter((n) => n !== "")),
      ),
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

/** The generic face of the HPA mode (LeaseRoutingShape.autoscaler). */
export const leaseAutoscalerOf = (routing: KubernetesLeaseRouting, config: Pick<KubernetesBackendConfig, "autoscaling">): BackendAutoscalerShape => ({
  defaultMode: config.autoscaling,
  ensureLeaseAutoscaler: (spec, replicas) => Effect.asVoid(routing.ensureHpa(spec, replicas)),
  syncScaleTarget: routing.syncScaleTarget,
  deleteLeaseAutoscaler: routing.deleteLeaseAutoscaler,
});

/**
 * The generic face of lease routing (Backend.leaseRouting): a lease's route is its Service, a
 * member is a replica whose pods carry the lease's label; leases in `hpa` mode get an HPA on
 * their server's BerthServer (`autoscaler`), the others are scaled by berthd ("builtin").
 */
export const leaseRoutingOf = (routing: KubernetesLeaseRouting, config: Pick<KubernetesBackendConfig, "autoscaling">): LeaseRoutingShape => ({
  autoscaling: "builtin",
  autoscaler: leaseAutoscalerOf(routing, config),
  ensureLeaseRoute: routing.ensureLeaseService,
  deleteLeaseRoute: routing.deleteLeaseService,
  leaseRoutes: routing.leaseServices,
  setLeaseMember: (serverId, index, leaseName, member) => Effect.asVoid(routing.setLeaseMembership(serverId, index, leaseName, member)),
});
