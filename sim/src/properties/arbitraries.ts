import fc from "fast-check";
import { GiB, MiB } from "@berth/core/units";
import type { LeaseTemplate, ModelSpec, NodeGroup, Scenario } from "../scenario/schema.js";
import { nodeName } from "../cluster/nodes.js";

// Generators of whole scenarios for property tests: small clusters (so that contention and
// failures are common), workloads over a handful of models, and failures. Every value stays
// inside what the scenario Schema accepts, so a failing case is also a valid scenario file.

const PLATFORMS = ["onnxruntime_onnx", "pytorch_libtorch", "tensorflow_savedmodel"] as const;
const GPU_MODELS = [["T4", 16], ["A10", 24], ["A100", 80]] as const;

const seconds = (lo: number, hi: number) => fc.integer({ min: lo * 1000, max: hi * 1000 });

export const nodeGroupArb = (i: number): fc.Arbitrary<NodeGroup> =>
  fc.record({
    count: fc.integer({ min: 1, max: 3 }),
    cpu: fc.constantFrom(16_000, 32_000, 64_000),
    memory: fc.constantFrom(64 * GiB, 128 * GiB, 256 * GiB),
    gpus: fc.option(fc.record({ count: fc.integer({ min: 1, max: 4 }), kind: fc.constantFrom(...GPU_MODELS) }), { nil: undefined, freq: 6 }),
  }).map((g) => ({
    name: `g${i}`,
    count: g.count,
    cpu: g.cpu,
    memory: g.memory,
    gpus: g.gpus && { count: g.gpus.count, model: g.gpus.kind[0], memory: g.gpus.kind[1] * GiB },
  }));

export const clusterArb: fc.Arbitrary<Scenario["cluster"]> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeGroupArb(i))))
  .map((groups) => ({ nodeGroups: groups as unknown as Scenario["cluster"]["nodeGroups"] }));

export const modelArb = (i: number): fc.Arbitrary<ModelSpec> =>
  fc.record({
    platform: fc.constantFrom(...PLATFORMS),
    // mostly models that fit a GPU, some that fill one
    sizeMiB: fc.oneof({ arbitrary: fc.integer({ min: 50, max: 4000 }), weight: 4 }, { arbitrary: fc.integer({ min: 4000, max: 20_000 }), weight: 1 }),
    extra: fc.double({ min: 1, max: 1.5, noNaN: true }),
    loadMin: seconds(0, 10),
    loadSpan: seconds(0, 50),
  }).map((m) => ({
    name: `m${i}`,
    repository: "sim",
    platform: m.platform,
    group: undefined,
    size: m.sizeMiB * MiB,
    gpuMemory: Math.round(m.sizeMiB * MiB * m.extra),
    loadTime: { kind: "uniform" as const, min: m.loadMin, max: m.loadMin + m.loadSpan },
  }));

const templateArb = (i: number, models: readonly ModelSpec[], pool: string | undefined): fc.Arbitrary<LeaseTemplate> =>
  fc.record({
    weight: fc.integer({ min: 1, max: 5 }),
    modelIdx: fc.uniqueArray(fc.integer({ min: 0, max: models.length - 1 }), { minLength: 1, maxLength: Math.min(2, models.length) }),
    /** Now and then a lease mixing groups, which decide must refuse with a reason. */
    mixGroups: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    shape: fc.constantFrom("share", "whole", "pool"),
    gpuMilli: fc.integer({ min: 0, max: 1000 }),
    gpus: fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.constant(2), weight: 1 }),
    extraMemory: fc.integer({ min: 0, max: 4096 }),
    hold: fc.option(seconds(30, 1200), { nil: undefined, freq: 4 }),
    // idle leases expire (and may be kept warm, then evicted); busy ones renew and scale
    rate: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: 400 }).map((r) => r / 10), weight: 2 }),
    autoscale: fc.option(fc.record({ min: fc.integer({ min: 1, max: 2 }), extra: fc.integer({ min: 0, max: 3 }), target: fc.integer({ min: 1, max: 20 }).map((t) => t / 10) }), { nil: undefined, freq: 2 }),
    serviceMs: fc.integer({ min: 20, max: 500 }),
    minDuration: seconds(30, 300),
    activityWindow: seconds(0, 300),
  }).map((t): LeaseTemplate => {
    const picked = t.modelIdx.map((k) => models[k]);
    // the pool hosts the onnxruntime group: its leases take that group's models when there are any
    const poolModels = models.filter((m) => m.platform === "onnxruntime_onnx");
    const inPool = t.shape === "pool" && pool !== undefined && poolModels.length > 0;
    const sameGroup = inPool ? [poolModels[t.modelIdx[0] % poolModels.length]] : picked.filter((m) => m.platform === picked[0].platform);
    const chosen = t.mixGroups ? picked : sameGroup;
    const gpuMemory = chosen.reduce((s, m) => s + (m.gpuMemory ?? m.size), 0) + t.extraMemory * MiB;
    const whole = t.shape === "whole";
    return {
      name: `t${i}`,
      weight: t.weight,
      tenant: "default",
      models: chosen.map((m) => m.name) as unknown as LeaseTemplate["models"],
      pool: inPool ? pool : undefined,
      quota: inPool ? gpuMemory : undefined,
      resources: { gpus: whole ? t.gpus : 0, gpuMilli: whole ? 0 : t.gpuMilli, gpuMemory, cpu: 1000, memory: 4 * GiB, gpuModels: [] },
      minDuration: t.minDuration,
      activityWindow: t.activityWindow,
      hold: t.hold === undefined ? undefined : { kind: "constant", value: t.hold },
      requests: { rate: t.rate, serviceTime: { kind: "constant", value: t.serviceMs } },
      autoscaling: inPool || !t.autoscale ? undefined : { metric: "inflight", target: t.autoscale.target, minReplicas: t.autoscale.min, maxReplicas: t.autoscale.min + t.autoscale.extra, policy: undefined },
    };
  });

export interface ScenarioShape {
  /** Longest simulated run, ms. */
  readonly maxDuration: number;
  readonly maxLeases: number;
}

/** A whole scenario: cluster, catalog, optional pool, synthetic workload, failures, a seed. */
export const scenarioArb = (shape: ScenarioShape = { maxDuration: 30 * 60_000, maxLeases: 40 }): fc.Arbitrary<Scenario> =>
  fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    cluster: clusterArb,
    models: fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => modelArb(i)))),
    duration: fc.integer({ min: 5 * 60_000, max: shape.maxDuration }),
    leases: fc.integer({ min: 1, max: shape.maxLeases }),
    meanGap: seconds(1, 60),
    withPool: fc.boolean(),
    startup: fc.record({ min: seconds(1, 20), span: seconds(0, 40) }),
    failures: fc.record({
      losses: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), pick: fc.nat(), recover: fc.option(seconds(30, 900), { nil: undefined }) }), { maxLength: 2 }),
      crash: fc.option(seconds(1800, 7200), { nil: undefined }),
      slow: fc.record({ probability: fc.double({ min: 0, max: 0.5, noNaN: true }), factor: fc.double({ min: 1, max: 5, noNaN: true }) }),
      failed: fc.double({ min: 0, max: 0.2, noNaN: true }),
    }),
    policy: fc.record({
      placement: fc.constantFrom("berth", "bestfit", "firstfit", "spread", "random", "gpupacking"),
      eviction: fc.constantFrom("lru", "cost-aware"),
      keepWarm: fc.boolean(),
    }),
  }).chain((s) =>
    fc.tuple(...Array.from({ length: 3 }, (_, i) => templateArb(i, s.models as unknown as ModelSpec[], s.withPool ? "p0" : undefined))).map((templates): Scenario => {
      const nodes = s.cluster.nodeGroups.flatMap((g) => Array.from({ length: g.count }, (_, i) => nodeName(g.name, i)));
      const groupOfPool = "onnxruntime";
      return {
        name: "property",
        description: "",
        seed: s.seed,
        duration: s.duration,
        tick: 10_000,
        sampleEvery: 60_000,
        cluster: s.cluster,
        servers: { startup: { kind: "uniform", min: s.startup.min, max: s.startup.min + s.startup.span }, image: "tritonserver" },
        models: s.models as unknown as Scenario["models"],
        pools: s.withPool ? [{ name: "p0", group: groupOfPool, resources: { gpus: 1, gpuMilli: 0, gpuMemory: undefined, cpu: 2000, memory: 8 * GiB, gpuModels: [] }, minInstances: 0, maxInstances: 2, quotaPerInstance: 8 * GiB }] : [],
        workload: { kind: "synthetic", leases: s.leases, interarrival: { kind: "exponential", mean: s.meanGap }, templates: templates as unknown as Extract<Scenario["workload"], { kind: "synthetic" }>["templates"] },
        failures: {
          nodeLoss: s.failures.losses.map((l) => ({ at: Math.floor(l.at * s.duration), node: nodes[l.pick % nodes.length], recoverAfter: l.recover })),
          serverCrash: s.failures.crash === undefined ? undefined : { meanTimeBetween: s.failures.crash },
          slowLoads: s.failures.slow,
          failedLoads: { probability: s.failures.failed },
        },
        policies: { placement: s.policy.placement, server: undefined, eviction: s.policy.eviction, autoscaler: "hpa", keepWarm: s.policy.keepWarm },
        experiment: undefined,
      };
    }),
  );
