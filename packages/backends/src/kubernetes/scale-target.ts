// The scale target of a server in `hpa` mode: a BerthServer (a custom resource with the /scale
// subresource), one per server, owned by the server record. A HorizontalPodAutoscaler needs an
// object whose /scale replicas *are* the server's; a server here is one Deployment per replica
// (ordinal ids, a placement and host ports each), so no built-in object qualifies. The HPA writes
// `spec.replicas`; berthd reads it, the core applies it within the lease's bounds and what fits
// (ServerObserved.scaledTo), the backend's `scale` adds or removes replica Deployments, and
// berthd writes the count reached to `status.replicas` (what the HPA reads as current).
import { LABEL_MANAGED_BY, LABEL_SERVER_ID } from "../spec.js";
import type { KubernetesBackendConfig } from "./config.js";
import type { KubeObject } from "./kube-client.js";
import { KUBERNETES_MANAGED_BY, type OwnerRef } from "./objects.js";

export const SCALE_TARGET_GROUP = "berth.dev";
export const SCALE_TARGET_VERSION = "v1alpha1";
export const SCALE_TARGET_API_VERSION = `${SCALE_TARGET_GROUP}/${SCALE_TARGET_VERSION}`;
export const SCALE_TARGET_KIND = "BerthServer";
export const SCALE_TARGET_PLURAL = "berthservers";
export const SCALE_TARGET_CRD_NAME = `${SCALE_TARGET_PLURAL}.${SCALE_TARGET_GROUP}`;

/**
 * The CustomResourceDefinition of BerthServer (cluster-scoped: installed once, by the install
 * manifests or by berthd when it may). `status` is not a subresource: berthd writes it with the
 * object, and only the HPA writes through /scale.
 */
export function scaleTargetCrd(): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: SCALE_TARGET_CRD_NAME, labels: { "app.kubernetes.io/part-of": "berth", "app.kubernetes.io/managed-by": "berth" } },
    spec: {
      group: SCALE_TARGET_GROUP,
      scope: "Namespaced",
      names: { plural: SCALE_TARGET_PLURAL, singular: "berthserver", kind: SCALE_TARGET_KIND, listKind: `${SCALE_TARGET_KIND}List`, categories: ["berth"] },
      versions: [
        {
          name: SCALE_TARGET_VERSION,
          served: true,
          storage: true,
          subresources: { scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" } },
          additionalPrinterColumns: [
            { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
            { name: "Current", type: "integer", jsonPath: ".status.replicas" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "The replica count of a Berth server, as a HorizontalPodAutoscaler's scale target; berthd follows spec.replicas.",
              properties: {
                spec: { type: "object", properties: { replicas: { type: "integer", minimum: 0 }, serverId: { type: "string" } } },
                status: { type: "object", properties: { replicas: { type: "integer", minimum: 0 }, selector: { type: "string" } } },
              },
            },
          },
        },
      ],
    },
  };
}

/** The BerthServer is named after the server (= its id; the record is `berth-server-<id>`). */
export const scaleTargetName = (serverId: string): string => serverId;

/**
 * A server's BerthServer. `replicas` is the server's count: written to `spec.replicas` only when
 * the object is created (after that, the HPA owns it), and to `status.replicas` every time.
 * `status.selector` finds the server's pods, whose metrics a Pods metric averages.
 */
export function scaleTarget(serverId: string, replicas: number, owner: OwnerRef, config: KubernetesBackendConfig, withSpec: boolean): KubeObject {
  return {
    apiVersion: SCALE_TARGET_API_VERSION,
    kind: SCALE_TARGET_KIND,
    metadata: {
      name: scaleTargetName(serverId),
      namespace: config.namespace,
      labels: {
        ...config.labels,
        "app.kubernetes.io/name": "berth-server",
        "app.kubernetes.io/instance": serverId,
        "app.kubernetes.io/component": "scale-target",
        "app.kubernetes.io/part-of": "berth",
        "app.kubernetes.io/managed-by": "berth",
        [LABEL_MANAGED_BY]: KUBERNETES_MANAGED_BY,
        [LABEL_SERVER_ID]: serverId,
      },
      ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
    },
    ...(withSpec ? { spec: { replicas, serverId } } : {}),
    status: { replicas, selector: `${LABEL_SERVER_ID}=${serverId}` },
  };
}

/** `spec.replicas` of a BerthServer as read back (undefined when absent or not a count). */
export function scaleTargetReplicas(object: Record<string, unknown>): number | undefined {
  const replicas = (object.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof replicas === "number" && Number.isInteger(replicas) && replicas >= 0 ? replicas : undefined;
}

/** `status.replicas` of a BerthServer as read back. */
export function scaleTargetStatusReplicas(object: Record<string, unknown>): number | undefined {
  const replicas = (object.status as { replicas?: unknown } | undefined)?.replicas;
  return typeof replicas === "number" ? replicas : undefined;
}
