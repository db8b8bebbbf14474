import { Schema } from "effect";
import { Distribution } from "./distribution.js";
import { BytesFromText, CpuFromText, DurationFromText } from "./quantity.js";

// A scenario is data: what cluster, which models, what load, what goes wrong, which policies,
// for how long, from which seed. This module never imports the engine (OpenDC's habit), so a
// scenario can be validated, expanded and stored without running anything.

const Name = Schema.String.pipe(Schema.pattern(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/), Schema.annotations({
  message: () => "expected a lowercase name of letters, digits, '-' and '.' (like a10-pool)",
}));
const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative());
const PositiveCount = Schema.Number.pipe(Schema.int(), Schema.positive());
const Probability = Schema.Number.pipe(Schema.between(0, 1));
/** An optional field with a default (the decoded scenario always has it). */
const optional = <A, I, R>(schema: Schema.Schema<A, I, R>, value: () => A) => Schema.optionalWith(schema, { default: value });

export const GpuGroupSpec = Schema.Struct({
  count: PositiveCount,
  /** GPU model as the inventory names it (A10, V100M32, H100...). */
  model: Schema.String.pipe(Schema.nonEmptyString()),
  memory: BytesFromText,
});

export const NodeGroup = Schema.Struct({
  name: Name,
  count: PositiveCount,
  cpu: CpuFromText,
  memory: BytesFromText,
  gpus: Schema.optional(GpuGroupSpec),
  labels: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
});
export type NodeGroup = typeof NodeGroup.Type;

export const ClusterSpec = Schema.Struct({
  nodeGroups: Schema.NonEmptyArray(NodeGroup).pipe(
    Schema.filter((groups) => {
      const seen = new Set<string>();
      for (const [i, g] of groups.entries()) {
        if (seen.has(g.name)) return { path: [i, "name"], message: `duplicate node group name ${g.name}` };
        seen.add(g.name);
      }
      return true;
    }),
  ),
});

export const ServerSpec = Schema.Struct({
  /** Time from EnsureServer (or a new replica) until the server reports Up. */
  startup: Distribution,
  image: optional(Schema.String, () => "tritonserver"),
});

export const ModelSpec = Schema.Struct({
  name: Name,
  repository: optional(Name, () => "sim"),
  /** Triton platform/backend (onnxruntime_onnx, pytorch_libtorch, ...). */
  platform: optional(Schema.String, () => "onnxruntime_onnx"),
  /** Server group; servers of different groups never share a GPU. Defaults to the platform. */
  group: Schema.optional(Schema.String),
  size: BytesFromText,
  /** GPU memory once loaded; defaults to the size. */
  gpuMemory: Schema.optional(BytesFromText),
  loadTime: Distribution,
});
export type ModelSpec = typeof ModelSpec.Type;

export const ResourceSpec = Schema.Struct({
  gpus: optional(Count, () => 0),
  gpuMilli: optional(Count.pipe(Schema.lessThanOrEqualTo(1000)), () => 0),
  /** GPU memory per replica; defaults to the sum of the models' GPU memory. */
  gpuMemory: Schema.optional(BytesFromText),
  cpu: optional(CpuFromText, () => 1000),
  memory: optional(BytesFromText, () => 4 * 1024 ** 3),
  gpuModels: optional(Schema.Array(Schema.String), () => []),
});

export const AutoscalingTemplate = Schema.Struct({
  metric: optional(Schema.String, () => "inflight"),
  target: Schema.Number.pipe(Schema.positive()),
  minReplicas: optional(PositiveCount, () => 1),
  maxReplicas: PositiveCount,
  /** Absent: the scenario's `policies.autoscaler`. */
  policy: Schema.optional(Schema.Literal("hpa", "berth")),
}).pipe(Schema.filter((a) => a.minReplicas <= a.maxReplicas || { path: ["maxReplicas"], message: "maxReplicas is below minReplicas" }));

/** The activity a lease's clients generate while they hold it. */
export const RequestSpec = Schema.Struct({
  /** Mean requests per second (Poisson). */
  rate: Schema.Number.pipe(Schema.nonNegative()),
  /** Service time of one request on one replica. */
  serviceTime: optional(Distribution, () => ({ kind: "constant" as const, value: 50 })),
});

export const LeaseTemplate = Schema.Struct({
  name: Name,
  /** Relative frequency among the workload's templates. */
  weight: optional(Schema.Number.pipe(Schema.positive()), () => 1),
  tenant: optional(Schema.String, () => "default"),
  /** Model names from the catalog, loaded together, all or nothing. */
  models: Schema.NonEmptyArray(Schema.String),
  /** `bespoke`, or the name of a pool. */
  pool: Schema.optional(Name),
  /** GPU memory the lease may take in its pool. */
  quota: Schema.optional(BytesFromText),
  resources: optional(ResourceSpec, () => ({ gpus: 0, gpuMilli: 0, cpu: 1000, memory: 4 * 1024 ** 3, gpuModels: [] })),
  minDuration: optional(DurationFromText, () => 5 * 60_000),
  /** Renewed automatically while it sees activity within this window (0 = never renewed). */
  activityWindow: optional(DurationFromText, () => 5 * 60_000),
  /** How long the client holds the lease before releasing it; absent = until the end. */
  hold: Schema.optional(Distribution),
  requests: optional(RequestSpec, () => ({ rate: 0, serviceTime: { kind: "constant" as const, value: 50 } })),
  autoscaling: Schema.optional(AutoscalingTemplate),
});
export type LeaseTemplate = typeof LeaseTemplate.Type;

/** Leases arriving as a Poisson process (or any inter-arrival distribution), drawn from templates. */
export const SyntheticWorkload = Schema.Struct({
  kind: Schema.Literal("synthetic"),
  /** How many leases arrive in all. */
  leases: PositiveCount,
  /** Gap between arrivals; `{kind: exponential, mean: 20s}` is a Poisson process. */
  interarrival: Distribution,
  templates: Schema.NonEmptyArray(LeaseTemplate),
});

/**
 * A real trace from the shared data folder. `alibaba-genai`: each base model of the GenAI
 * trace becomes a lease on its first request, its requests are activity. `azure-llm`: the
 * code trace's requests are activity on one lease.
 */
export const TraceWorkload = Schema.Struct({
  kind: Schema.Literal("trace"),
  trace: Schema.Literal("alibaba-genai", "azure-llm"),
  /** Lease template used for every lease the trace creates (its `models` name the catalog model to copy). */
  template: LeaseTemplate,
  /** Only the first N requests of the trace. */
  limit: Schema.optional(PositiveCount),
  /** Divide the trace's gaps by this (2 = twice as fast). */
  speedup: optional(Schema.Number.pipe(Schema.positive()), () => 1),
});

export const Workload = Schema.Union(SyntheticWorkload, TraceWorkload);
export type Workload = typeof Workload.Type;

export const PoolTemplate = Schema.Struct({
  name: Name,
  /** Group of the models it hosts, as decide names groups (`onnxruntime`, `pytorch`, `tensorflow`, ...). */
  group: optional(Schema.String, () => "onnxruntime"),
  resources: ResourceSpec,
  minInstances: optional(Count, () => 0),
  maxInstances: PositiveCount,
  quotaPerInstance: BytesFromText,
}).pipe(Schema.filter((p) => p.minInstances <= p.maxInstances || { path: ["maxInstances"], message: "maxInstances is below minInstances" }));

export const NodeLoss = Schema.Struct({
  at: DurationFromText,
  /** A node by name (`<group>-<index>`); absent = a node drawn from the seed. */
  node: Schema.optional(Schema.String),
  /** Bring it back after this long; absent = gone for good. */
  recoverAfter: Schema.optional(DurationFromText),
});

export const FailureSpec = Schema.Struct({
  nodeLoss: optional(Schema.Array(NodeLoss), () => []),
  /** Mean time between crashes of one server (exponential); absent = servers never crash. */
  serverCrash: Schema.optional(Schema.Struct({ meanTimeBetween: DurationFromText })),
  /** Some loads take `factor` times longer. */
  slowLoads: optional(Schema.Struct({ probability: Probability, factor: Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)) }), () => ({ probability: 0, factor: 1 })),
  /** Some loads fail outright (ModelsFailed). */
  failedLoads: optional(Schema.Struct({ probability: Probability }), () => ({ probability: 0 })),
});
export type FailureSpec = typeof FailureSpec.Type;

/** Policy names as the core's registries know them (checked when the run starts); absent = decide's defaults. */
export const PolicySpec = Schema.Struct({
  /** Node-level placement of new servers (DecideConfig.placementPolicy). */
  placement: Schema.optional(Schema.String),
  /** Lease -> existing server binding (DecideConfig.serverPolicy). */
  server: Schema.optional(Schema.String),
  eviction: Schema.optional(Schema.String),
  /** Autoscaler of leases whose template names none. */
  autoscaler: optional(Schema.Literal("hpa", "berth"), () => "hpa" as const),
  /** Keep expired leases' models loaded while their memory is not needed; absent = decide's default. */
  keepWarm: Schema.optional(Schema.Boolean),
});
export type PolicySpec = typeof PolicySpec.Type;

const PartialPolicy = Schema.Struct({
  placement: Schema.optional(Schema.String),
  server: Schema.optional(Schema.String),
  eviction: Schema.optional(Schema.String),
  autoscaler: Schema.optional(Schema.Literal("hpa", "berth")),
  keepWarm: Schema.optional(Schema.Boolean),
});

const Seeds = Schema.Union(
  Schema.NonEmptyArray(Schema.Number.pipe(Schema.int())),
  Schema.Struct({ from: Schema.Number.pipe(Schema.int()), count: PositiveCount }),
);

/** Settings to sweep: every combination of policies x seeds x workloads becomes one run. */
export const ExperimentSpec = Schema.Struct({
  seeds: Schema.optional(Seeds),
  policies: Schema.optional(Schema.NonEmptyArray(PartialPolicy)),
  workloads: Schema.optional(Schema.NonEmptyArray(Schema.Struct({ name: Name, workload: Workload }))),
});
export type ExperimentSpec = typeof ExperimentSpec.Type;

export const ScenarioSpec = Schema.Struct({
  name: Name,
  description: optional(Schema.String, () => ""),
  seed: Schema.Number.pipe(Schema.int()),
  /** Simulated time to run; leases still pending at the end are reported as such. */
  duration: DurationFromText,
  /** Period of the control plane's timer (expiry, renewal, autoscaling). */
  tick: optional(DurationFromText, () => 10_000),
  /** Period of the metric samples in the report. */
  sampleEvery: optional(DurationFromText, () => 30_000),
  cluster: ClusterSpec,
  servers: ServerSpec,
  models: Schema.NonEmptyArray(ModelSpec),
  pools: optional(Schema.Array(PoolTemplate), () => []),
  workload: Workload,
  failures: optional(FailureSpec, () => ({ nodeLoss: [], slowLoads: { probability: 0, factor: 1 }, failedLoads: { probability: 0 } })),
  policies: optional(PolicySpec, () => ({ autoscaler: "hpa" as const })),
  experiment: Schema.optional(ExperimentSpec),
});
export type Scenario = typeof ScenarioSpec.Type;
