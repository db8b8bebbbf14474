// The objects the Kubernetes backend creates, as pure functions of the spec and the config:
// a server record (a ConfigMap holding the spec, owner of everything else of the server), one
// Deployment per replica index, a Secret with its sidecars' credentials, a Service per lease, and
// a HorizontalPodAutoscaler per autoscaled lease. Labels follow app.kubernetes.io/* plus Berth's own ownership labels.
import { createHash } from "node:crypto";
import { LABEL_GROUP, LABEL_MANAGED_BY, LABEL_REPLICA, LABEL_SERVER_ID, LABEL_VALUE_PATTERN, placementOf, replicaId, SIDECAR_ENV, type ServerSpec, sidecarEnvironment } from "../spec.js";
import type { KubernetesBackendConfig } from "./config.js";
import type { KubeObject } from "./kube-client.js";

export const KUBERNETES_MANAGED_BY = "berth-kubernetes-backend";
export const FIELD_MANAGER = "berth";
/** The record's data key holding the spec as JSON. */
export const SPEC_KEY = "spec.json";
/** Annotation of a replica Deployment: its host ports "http,grpc,metrics" (host-network mode). */
export const ANNOTATION_HOST_PORTS = "berth.dev/host-ports";
/**
 * Annotation of a replica's pod template: a digest of its sidecar credentials. A pod reads a
 * Secret's values into its environment when it starts, so new credentials must change the
 * template for the Deployment to replace the pod (as a plain env value used to).
 */
export const ANNOTATION_SIDECAR_CREDENTIALS = "berth.dev/sidecar-credentials";
/** Annotation with the GPU indices the core placed the replica on (the device plugin picks the devices). */
export const ANNOTATION_GPUS = "berth.dev/gpus";
/** Pods holding a lease carry `lease.berth.dev/<lease>: loaded`; the lease's Service selects it. */
export const LEASE_LABEL_PREFIX = "lease.berth.dev/";
export const LEASE_LABEL_VALUE = "loaded";
export const POD_PORTS = { http: 8000, grpc: 8001, metrics: 8002 } as const;
export const SERVER_CONTAINER = "server";
export const SIDECAR_CONTAINER = "sidecar";
const CACHE_MOUNT = "/var/cache/berth";

export interface HostPorts {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

export const recordName = (serverId: string): string => `berth-server-${serverId}`;
export const deploymentName = (serverId: string, index: number): string => replicaId(serverId, index);
/** The server's Secret of sidecar credentials (a DNS subdomain: server ids are DNS labels of at most 63). */
export const sidecarSecretName = (serverId: string): string => `berth-sidecar-${serverId}`;
export const leaseLabel = (leaseName: string): string => `${LEASE_LABEL_PREFIX}${leaseName}`;

/** Labels of every object of a server (selectors use only the berth.dev ones, which never change). */
export function serverLabels(spec: Pick<ServerSpec, "serverId" | "group" | "labels">, config: Pick<KubernetesBackendConfig, "labels">): Record<string, string> {
  return {
    ...config.labels,
    ...spec.labels,
    "app.kubernetes.io/name": "berth-server",
    "app.kubernetes.io/instance": spec.serverId,
    "app.kubernetes.io/component": "inference-server",
    "app.kubernetes.io/part-of": "berth",
    "app.kubernetes.io/managed-by": "berth",
    [LABEL_MANAGED_BY]: KUBERNETES_MANAGED_BY,
    [LABEL_SERVER_ID]: spec.serverId,
    ...(LABEL_VALUE_PATTERN.test(spec.group) && spec.group.length <= 63 ? { [LABEL_GROUP]: spec.group } : {}),
  };
}

export interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

const ownerReference = (owner: OwnerRef) => ({ ...owner, controller: true, blockOwnerDeletion: true });

/** The spec without the sidecar's token: what the record keeps (the token lives in the server's Secret). */
export function withoutSidecarToken(spec: ServerSpec): ServerSpec {
  if (spec.sidecar?.token === undefined) return spec;
  const { token: _, ...sidecar } = spec.sidecar;
  return { ...spec, sidecar };
}

/** The record's spec with the token its Secret holds put back (adoption; the Secret's `data` is base64). */
export function withSidecarToken(spec: ServerSpec, secret: Record<string, unknown> | undefined): ServerSpec {
  const data = secret?.data as Record<string, unknown> | undefined;
  const encoded = data?.[SIDECAR_ENV.token];
  if (spec.sidecar === undefined || spec.sidecar.token !== undefined || typeof encoded !== "string") return spec;
  const token = Buffer.from(encoded, "base64").toString("utf8");
  return token === "" ? spec : { ...spec, sidecar: { ...spec.sidecar, token } };
}

/**
 * The server record: the desired state (spec, replica count, placements) that adoption reads back.
 * Whoever may read ConfigMaps may read it, so the sidecar's token stays out (sidecarSecret).
 */
export function serverRecord(spec: ServerSpec, config: KubernetesBackendConfig): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: recordName(spec.serverId), namespace: config.namespace, labels: serverLabels(spec, config) },
    data: { [SPEC_KEY]: JSON.stringify(withoutSidecarToken(spec)) },
  };
}

const sidecarCredentials = (spec: ServerSpec): Record<string, string> => (spec.sidecar === undefined ? {} : sidecarEnvironment(spec.sidecar));

/**
 * The server's sidecar credentials (berthd's per-server token, its CA): one Secret per server,
 * keyed by the environment variable names, owned by the record (collected with the server).
 * None when there are none (no auth, no TLS).
 */
export function sidecarSecret(spec: ServerSpec, config: KubernetesBackendConfig, owner: OwnerRef): KubeObject | undefined {
  const credentials = Object.entries(sidecarCredentials(spec));
  if (credentials.length === 0) return undefined;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: sidecarSecretName(spec.serverId), namespace: config.namespace, labels: serverLabels(spec, config), ownerReferences: [ownerReference(owner)] },
    type: "Opaque",
    // `data`, not `stringData`: stringData is write-only, so server-side apply could not own its keys.
    data: Object.fromEntries(credentials.map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])),
  };
}

/** A digest of the credentials, for ANNOTATION_SIDECAR_CREDENTIALS (not reversible: the token stays in the Secret). */
function credentialsDigest(credentials: Record<string, string>): string {
  const sorted = Object.keys(credentials)
    .sort()
    .map((k) => [k, credentials[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 32);
}

const quantityMilli = (milli: number): string => `${Math.ceil(milli)}m`;
const quantityBytes = (bytes: number): string => `${Math.ceil(bytes)}`;

/** Triton's flags (berth-model-server takes the same ones). */
export function serverArgs(ports: HostPorts, modelMount: string, host: string): string[] {
  return [
    `--model-repository=${modelMount}`,
    "--model-control-mode=explicit",
    `--http-port=${ports.http}`,
    `--grpc-port=${ports.grpc}`,
    `--metrics-port=${ports.metrics}`,
    `--http-address=${host}`,
    `--grpc-address=${host}`,
    `--metrics-address=${host}`,
  ];
}

/** Berth's own image (berthd's default on Kubernetes: `localhost/berth:dev`), any registry and tag. */
const BERTH_IMAGE = /^([^/]+\/)*berth(:[^/]*)?(@sha256:[0-9a-f]+)?$/;

/** Without `serverCommand`: Berth's image runs its model server, any other image Triton (same flags). */
export const defaultServerCommand = (image: string): readonly string[] => (BERTH_IMAGE.test(image) ? ["berth-model-server"] : ["tritonserver"]);

/**
 * The Deployment of replica `index` (one replica each: replicas keep ordinal identities, their
 * own placement and, on the host network, their own ports). `Recreate`, because a rolling
 * update would start the new pod beside the old on the same host ports and GPUs.
 */
export function replicaDeployment(spec: ServerSpec, index: number, config: KubernetesBackendConfig, owner: OwnerRef, hostPorts: HostPorts | undefined): KubeObject {
  const host = config.network === "host";
  const ports: HostPorts = host && hostPorts !== undefined ? hostPorts : POD_PORTS;
  const placement = placementOf(spec, index);
  const labels = { ...serverLabels(spec, config), [LABEL_REPLICA]: String(index) };
  const selector = { [LABEL_SERVER_ID]: spec.serverId, [LABEL_REPLICA]: String(index) };
  const gpus = placement.gpus.length > 0 ? placement.gpus.length : spec.resources.gpus;
  const annotations = {
    ...(host ? { [ANNOTATION_HOST_PORTS]: `${ports.http},${ports.grpc},${ports.metrics}` } : {}),
    ...(placement.gpus.length > 0 ? { [ANNOTATION_GPUS]: placement.gpus.join(",") } : {}),
  };
  const limits: Record<string, string> = {
    ...(spec.resources.memory > 0 ? { memory: quantityBytes(spec.resources.memory) } : {}),
    ...(gpus > 0 && config.requestGpus ? { "nvidia.com/gpu": String(gpus) } : {}),
  };
  const requests: Record<string, string> = {
    ...(spec.resources.cpu > 0 ? { cpu: quantityMilli(spec.resources.cpu) } : {}),
    ...(spec.resources.memory > 0 ? { memory: quantityBytes(spec.resources.memory) } : {}),
  };
  const modelVolume = config.modelClaim !== undefined ? { name: "models", persistentVolumeClaim: { claimName: config.modelClaim } } : { name: "models", emptyDir: {} };
  // On the host network, loopback endpoints keep the server off the node's interfaces.
  const listen = host && config.endpointHost === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0";
  const containerPort = (name: string, port: number) => ({ name, containerPort: port, protocol: "TCP", ...(host ? { hostPort: port } : {}) });
  const serverContainer = {
    name: SERVER_CONTAINER,
    image: spec.image,
    imagePullPolicy: config.imagePullPolicy,
    command: [...(config.serverCommand ?? defaultServerCommand(spec.image))],
    args: serverArgs(ports, config.modelMount, listen),
    ports: [containerPort("http", ports.http), containerPort("grpc", ports.grpc), containerPort("metrics", ports.metrics)],
    readinessProbe: { httpGet: { path: "/v2/health/ready", port: ports.http, ...(host ? { host: "127.0.0.1" } : {}) }, periodSeconds: 1, failureThreshold: 2 },
    resources: { ...(Object.keys(limits).length > 0 ? { limits } : {}), ...(Object.keys(requests).length > 0 ? { requests } : {}) },
    // The sidecar links models from its cache into the model volume (relative links): the server
    // reads them through the same cache mount.
    volumeMounts: [{ name: "models", mountPath: config.modelMount }, ...(spec.sidecar !== undefined ? [{ name: "model-cache", mountPath: CACHE_MOUNT, readOnly: true }] : [])],
    // The end of the log becomes the termination message: failures carry it without the log API.
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
  const sidecar = spec.sidecar;
  const credentials = sidecarCredentials(spec);
  const hasCredentials = Object.keys(credentials).length > 0;
  // Directory repositories are paths on berthd's machine: on a single-node or edge cluster they
  // are the node's too, and are mounted read-only at the same path (as the docker backend does).
  const repositoryDirs = sidecar === undefined || !config.mountHostRepositories ? [] : [...new Set(sidecar.repositories.map((r) => r.location).filter((l) => l.startsWith("/")))];
  const sidecarContainer =
    sidecar === undefined
      ? []
      : [
          {
            name: SIDECAR_CONTAINER,
            image: config.sidecarImage,
            imagePullPolicy: config.imagePullPolicy,
            command: ["berth-sidecar"],
            args: [
              "--berthd", config.sidecarBerthd ?? sidecar.berthd,
              "--server-http", `127.0.0.1:${ports.http}`,
              "--server-id", spec.serverId,
              "--replica-id", replicaId(spec.serverId, index),
              "--cache", CACHE_MOUNT,
              "--server-repository", config.modelMount,
              ...sidecar.repositories.flatMap((r) => ["--repository", `${r.name}=${r.location}`]),
            ],
            // berthd's sidecar credentials (token, CA) in the environment, never in args, and read
            // from the server's Secret: whoever reads Deployments or pods does not read the token.
            ...(hasCredentials
              ? { env: Object.keys(credentials).map((name) => ({ name, valueFrom: { secretKeyRef: { name: sidecarSecretName(spec.serverId), key: name } } })) }
              : {}),
            volumeMounts: [
              { name: "models", mountPath: config.modelMount },
              { name: "model-cache", mountPath: CACHE_MOUNT },
              ...repositoryDirs.map((dir, i) => ({ name: `repository-${i}`, mountPath: dir, readOnly: true })),
            ],
            terminationMessagePolicy: "FallbackToLogsOnError",
          },
        ];
  const gpuModels = spec.resources.gpuModels;
  const nodeSelector = config.nodeSelection === "label" ? { [config.nodeNameLabel]: placement.node } : undefined;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: deploymentName(spec.serverId, index), namespace: config.namespace, labels, annotations, ownerReferences: [ownerReference(owner)] },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      strategy: { type: "Recreate" },
      template: {
        metadata: { labels, annotations: { ...annotations, ...(hasCredentials ? { [ANNOTATION_SIDECAR_CREDENTIALS]: credentialsDigest(credentials) } : {}) } },
        spec: {
          ...(host ? { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } : {}),
          ...(nodeSelector !== undefined ? { nodeSelector } : {}),
          ...(gpuModels.length > 0
            ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: config.gpuProductLabel, operator: "In", values: [...gpuModels] }] }] } } } }
            : {}),
          terminationGracePeriodSeconds: 5,
          containers: [serverContainer, ...sidecarContainer],
          volumes: [
            modelVolume,
            ...(sidecar === undefined ? [] : [{ name: "model-cache", hostPath: { path: sidecar.cache, type: "DirectoryOrCreate" } }]),
            ...repositoryDirs.map((dir, i) => ({ name: `repository-${i}`, hostPath: { path: dir, type: "Directory" } })),
          ],
        },
      },
    },
  };
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable suffix that keeps mangled names distinct. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/**
 * Service names are DNS-1035 labels. A lease name that is one is used as it is (clients reach
 * the lease by its name); any other gets `lease-`, its characters made valid, and a hash.
 */
export function leaseServiceName(leaseName: string): string {
  if (/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(leaseName) && leaseName.length <= 63) return leaseName;
  const cleaned = leaseName.toLowerCase().replace(/[^-a-z0-9]/g, "-").slice(0, 45).replace(/-+$/, "");
  return `lease-${cleaned}${cleaned === "" ? "" : "-"}${shortHash(leaseName)}`.replace(/--+/g, "-");
}

/**
 * The Service of a lease: it selects the pods labelled as holding the lease (labelled when the
 * lease's models are loaded there, unlabelled when unloaded), so clients reach a lease by name
 * with the unchanged KServe v2 / Triton protocol. Owned by the servers it runs on.
 */
export function leaseService(leaseName: string, owners: readonly OwnerRef[], config: KubernetesBackendConfig, ports: HostPorts = POD_PORTS): KubeObject {
  // `ports` are the Service's own ports (Triton's by default); the pods' are looked up by name.
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: leaseServiceName(leaseName),
      namespace: config.namespace,
      labels: {
        ...config.labels,
        "app.kubernetes.io/name": "berth-lease",
        "app.kubernetes.io/instance": leaseName,
        "app.kubernetes.io/component": "lease",
        "app.kubernetes.io/part-of": "berth",
        "app.kubernetes.io/managed-by": "berth",
        [LABEL_MANAGED_BY]: KUBERNETES_MANAGED_BY,
        "berth.dev/lease": leaseName,
      },
      // Several servers may hold a lease (a pool): the Service goes when the last owner goes.
      ownerReferences: owners.map((o) => ({ ...o, blockOwnerDeletion: true })),
    },
    spec: {
      selector: { [leaseLabel(leaseName)]: LEASE_LABEL_VALUE },
      ports: [
        // Named target ports: on the host network each replica listens on its own ports, and a
        // named port resolves per pod (the containers name theirs http, grpc and metrics).
        { name: "http", port: ports.http, targetPort: "http", protocol: "TCP" },
        { name: "grpc", port: ports.grpc, targetPort: "grpc", protocol: "TCP" },
        { name: "metrics", port: ports.metrics, targetPort: "metrics", protocol: "TCP" },
      ],
    },
  };
}

export type HpaVersion = "autoscaling/v2" | "autoscaling/v2beta2";

/** autoscaling/v2 when the server serves it, else v2beta2 (v1.20 to v1.22), from discovery. */
export function chooseHpaVersion(served: readonly string[]): HpaVersion | undefined {
  if (served.includes("v2")) return "autoscaling/v2";
  if (served.includes("v2beta2")) return "autoscaling/v2beta2";
  return undefined;
}

export interface LeaseAutoscaling {
  readonly leaseName: string;
  /** What the HPA scales (something with a scale subresource). */
  readonly target: { readonly apiVersion: string; readonly kind: string; readonly name: string };
  /** A pods metric served through the custom metrics API (e.g. the Prometheus adapter's queue time). */
  readonly metric: string;
  /** Average value per pod, as a Kubernetes quantity ("200m", "5"). */
  readonly targetAverageValue: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

/** The HorizontalPodAutoscaler of a bespoke lease in `hpa` mode (v2 and v2beta2 share this shape). */
export function leaseHpa(version: HpaVersion, autoscaling: LeaseAutoscaling, owner: OwnerRef, config: KubernetesBackendConfig): KubeObject {
  return {
    apiVersion: version,
    kind: "HorizontalPodAutoscaler",
    metadata: {
      name: leaseServiceName(autoscaling.leaseName),
      namespace: config.namespace,
      labels: {
        ...config.labels,
        "app.kubernetes.io/name": "berth-lease",
        "app.kubernetes.io/instance": autoscaling.leaseName,
        "app.kubernetes.io/component": "autoscaler",
        "app.kubernetes.io/part-of": "berth",
        "app.kubernetes.io/managed-by": "berth",
        [LABEL_MANAGED_BY]: KUBERNETES_MANAGED_BY,
        "berth.dev/lease": autoscaling.leaseName,
      },
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      scaleTargetRef: { ...autoscaling.target },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [{ type: "Pods", pods: { metric: { name: autoscaling.metric }, target: { type: "AverageValue", averageValue: autoscaling.targetAverageValue } } }],
    },
  };
}
