// Configuration of the Kubernetes backend, decoded with Schema (InvalidConfig lists every
// problem). Durations are milliseconds.
import { Either, ParseResult, Schema } from "effect";

const PositiveInt = Schema.Int.pipe(Schema.positive());
const Port = Schema.Int.pipe(Schema.between(1, 65535));
const withDefault = <A>(value: A) => ({ default: () => value });

export const KubernetesBackendConfigSchema = Schema.Struct({
  /** Path of a kubeconfig; without it: $KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  kubeconfig: Schema.optional(Schema.String),
  /** Namespace of everything the backend creates. */
  namespace: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), withDefault("default")),
  /**
   * "pod": pods on the pod network, fixed container ports (8000 http, 8001 grpc, 8002 metrics),
   * endpoints are pod IPs. "host": hostNetwork pods, each replica on its own block of three host
   * ports from `hostPorts`, endpoints are `endpointHost` (or the node's address) and those ports.
   */
  network: Schema.optionalWith(Schema.Literal("pod", "host"), withDefault<"pod" | "host">("pod")),
  /** Host-network port range: replica blocks of three ports are allocated from it. */
  hostPorts: Schema.optionalWith(Schema.Struct({ first: Port, last: Port }), withDefault({ first: 31000, last: 31999 })),
  /** The address endpoints name in host-network mode (default: the pod's hostIP). */
  endpointHost: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /**
   * The address the sidecars dial berthd at, replacing the spec's (berthd's own listen address,
   * right on the host network only): in a cluster, berthd's Service (`berthd.berth.svc:50051`).
   */
  sidecarBerthd: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** Image of the sidecar container (entrypoint `berth-sidecar`). */
  sidecarImage: Schema.optionalWith(Schema.String, withDefault("localhost/berth:dev")),
  imagePullPolicy: Schema.optionalWith(Schema.Literal("Always", "IfNotPresent", "Never"), withDefault<"Always" | "IfNotPresent" | "Never">("IfNotPresent")),
  /**
   * Ask for the replica's GPUs as `nvidia.com/gpu` limits (the device plugin's resource). Off on
   * clusters without a device plugin, where berthd's nodes offer a pretend CPU "GPU" (a laptop,
   * the test cluster): the pods then schedule, and GPU memory still caps what is loaded.
   */
  requestGpus: Schema.optionalWith(Schema.Boolean, withDefault(true)),
  /** Node label that names a node's GPU product (GPU Feature Discovery's). */
  gpuProductLabel: Schema.optionalWith(Schema.String, withDefault("nvidia.com/gpu.product")),
  /** Node label matched against a placement's node name. */
  nodeNameLabel: Schema.optionalWith(Schema.String, withDefault("kubernetes.io/hostname")),
  /**
   * Placements name nodes; "any" ignores them (a cluster whose scheduler decides), "label"
   * selects the node by `nodeNameLabel` (the default: the core placed the replica there).
   */
  nodeSelection: Schema.optionalWith(Schema.Literal("label", "any"), withDefault<"label" | "any">("label")),
  /** Restarts of a never-ready replica after which it is observed Failed (Kubernetes keeps trying). */
  failAfterRestarts: Schema.optionalWith(PositiveInt, withDefault(3)),
  /** Server-side watch timeout: the watch is closed by the server this often and resumed. */
  watchTimeoutSeconds: Schema.optionalWith(PositiveInt, withDefault(300)),
  /** Retries of an API call that failed with a conflict, throttling, a 5xx or a network error. */
  retryBaseMs: Schema.optionalWith(PositiveInt, withDefault(100)),
  retryTimes: Schema.optionalWith(PositiveInt, withDefault(6)),
  /** Mount point of the model volume in both containers. */
  modelMount: Schema.optionalWith(Schema.String, withDefault("/models")),
  /** A PVC to hold the models instead of an emptyDir (PVC repositories). */
  modelClaim: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /**
   * Mount the sidecar's directory repositories (absolute paths on berthd's machine) from the node
   * at the same paths (hostPath, read-only): right where berthd's machine is the node (single-node,
   * edge, the test cluster). Turn off where repositories are URLs or the nodes lack the paths.
   */
  mountHostRepositories: Schema.optionalWith(Schema.Boolean, withDefault(true)),
  /** Command of the server container (it gets Triton's flags): default `berth-model-server` for Berth's image, `tritonserver` for any other. */
  serverCommand: Schema.optional(Schema.Array(Schema.String).pipe(Schema.minItems(1))),
  /** Extra labels on everything the backend creates. */
  labels: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), withDefault({})),
  /** Field manager of server-side apply. */
  fieldManager: Schema.optionalWith(Schema.String, withDefault("berth")),
  /**
   * berthd high availability on Kubernetes: only the holder of this coordination.k8s.io Lease
   * leads (runs the engine, the executor and lease routing); the other replicas stand by. With a
   * PostgreSQL store, the database's own election must be won as well.
   */
  leaderElection: Schema.optional(
    Schema.Struct({
      /** Name of the Lease (one per berthd installation). */
      name: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), withDefault("berthd")),
      /** Namespace of the Lease: default $POD_NAMESPACE, else the backend's namespace. */
      namespace: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
      /** This candidate's name: default $POD_NAME, else host-pid. */
      identity: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
      leaseDurationSeconds: Schema.optionalWith(PositiveInt, withDefault(15)),
      /** How often the leader renews and the others try (well under the lease duration). */
      retryPeriodMs: Schema.optionalWith(PositiveInt, withDefault(2000)),
    }),
  ),
  /**
   * Who scales an autoscaled bespoke lease whose spec names no mode: "hpa" (the default, as in
   * TMS), a HorizontalPodAutoscaler on the lease's metric (served by the custom metrics API, e.g.
   * the Prometheus adapter) whose scale target is the server's BerthServer; "builtin", berthd's
   * own autoscaler on the sidecars' metrics (no adapter needed).
   */
  autoscaling: Schema.optionalWith(Schema.Literal("hpa", "builtin"), withDefault<"hpa" | "builtin">("hpa")),
  /** The HPA's Pods metric is this prefix and the lease's metric name (`queue_time` -> `berth_queue_time`). */
  hpaMetricPrefix: Schema.optionalWith(Schema.String, withDefault("berth_")),
  /**
   * Apply the BerthServer CustomResourceDefinition (the HPA's scale target) when the first HPA is
   * made. Turn off where the install manifests carry it and berthd may not write CRDs.
   */
  installScaleTargetCrd: Schema.optionalWith(Schema.Boolean, withDefault(true)),
  /** When the backend closes: "leave" servers running (Kubernetes owns them; the default) or "delete" them. */
  onClose: Schema.optionalWith(Schema.Literal("leave", "delete"), withDefault<"leave" | "delete">("leave")),
});

export type KubernetesBackendConfig = Schema.Schema.Type<typeof KubernetesBackendConfigSchema>;
export type KubernetesBackendOptions = Schema.Schema.Encoded<typeof KubernetesBackendConfigSchema>;

export function decodeKubernetesBackendConfig(input: unknown): Either.Either<KubernetesBackendConfig, readonly string[]> {
  return Schema.decodeUnknownEither(KubernetesBackendConfigSchema, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)),
    ),
    Either.flatMap((config) =>
      config.hostPorts.last - config.hostPorts.first + 1 < 3 ? Either.left(["hostPorts: the range must hold at least three ports"]) : Either.right(config),
    ),
  );
}
