// Random worlds for decide's properties: clusters, pools, lease specs and abstract commands
// that are resolved against the snapshot when they run (a command says "the 3rd of the
// servers", not a server id, so any generated sequence is meaningful and shrinks well).
import fc from "fast-check";
import type { ClusterNode } from "../../src/cluster/types.js";
import type { DecideConfig, DecideResult, Event, ModelFacts, Snapshot } from "../../src/decide/index.js";
import { decide, decideOwned, defaultDecideConfig, emptySnapshot, registryPolicies } from "../../src/decide/index.js";
import { modelSetKey } from "../../src/lease/ownership.js";
import type { LeaseSpec, ModelRef, PoolSpec } from "../../src/spec/types.js";
import { GiB } from "../../src/units.js";

export interface WorldSpec {
  readonly nodes: readonly ClusterNode[];
  readonly pools: readonly PoolSpec[];
  readonly specs: readonly LeaseSpec[];
  readonly catalog: readonly ModelFacts[];
  /** Measured memory of each model set as a fraction of 8 GiB: a fact of the models, whatever leases declare. */
  readonly measuredFraction: Readonly<Record<string, number>>;
  readonly seed: number;
}

export type Command =
  | { readonly c: "request"; readonly spec: number; readonly dt: number }
  | { readonly c: "renew"; readonly pick: number; readonly by: number; readonly dt: number }
  | { readonly c: "release"; readonly pick: number; readonly by: number; readonly dt: number }
  | { readonly c: "up" | "down" | "gone"; readonly pick: number; readonly dt: number }
  | { readonly c: "loaded" | "failed"; readonly pick: number; readonly dt: number }
  | { readonly c: "activity"; readonly pick: number; readonly byModel: boolean; readonly dt: number }
  | { readonly c: "metric"; readonly pick: number; readonly value: number; readonly dt: number }
  | { readonly c: "tick"; readonly dt: number };

const MODELS: readonly ModelRef[] = ["m0", "m1", "m2", "m3", "m4"].map((name) => ({ name, repository: "repo" }));
const PLATFORMS = ["onnxruntime_onnx", "pytorch_libtorch", "onnxruntime_onnx", "tensorflow_savedmodel", "onnxruntime_onnx"];
const GROUP_OF: Record<string, string> = { onnxruntime_onnx: "onnxruntime", pytorch_libtorch: "pytorch", tensorflow_savedmodel: "tensorflow" };

const nodeArb = (i: number) =>
  fc.record({ gpus: fc.integer({ min: 1, max: 4 }), mem: fc.constantFrom(16, 24, 40), model: fc.constantFrom("A10", "V100") }).map(
    ({ gpus, mem, model }): ClusterNode => ({
      name: `n${i}`,
      cpu: 16_000,
      memory: 64 * GiB,
      gpus: Array.from({ length: gpus }, (_, index) => ({ index, model, memory: mem * GiB })),
      state: "Ready",
    }),
  );

const poolArb = (i: number) =>
  fc
    .record({
      platform: fc.constant(i % 2),
      gpuMemory: fc.constantFrom(8, 12, 16),
      quota: fc.constantFrom(3, 4, 8),
      min: fc.integer({ min: 0, max: 1 }),
      extra: fc.integer({ min: 0, max: 2 }),
    })
    .map(
      ({ platform, gpuMemory, quota, min, extra }): PoolSpec => ({
        name: `p${i}`,
        template: {
          image: "triton",
          group: GROUP_OF[PLATFORMS[platform]!]!,
          resources: { gpuMemory: gpuMemory * GiB, gpus: 0, gpuMilli: 0, cpu: 2000, memory: 8 * GiB, gpuModels: [] },
        },
        minInstances: min,
        maxInstances: min + extra,
        quotaPerInstance: quota * GiB,
      }),
    );

const specArb = (i: number, pools: number) =>
  fc
    .record({
      models: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 2 }),
      pool: pools > 0 ? fc.option(fc.integer({ min: 0, max: pools - 1 }), { nil: undefined }) : fc.constant(undefined),
      gpus: fc.constantFrom(0, 0, 0, 0, 0, 1, 1, 2),
      gpuMilli: fc.constantFrom(0, 300, 500),
      gpuMemory: fc.integer({ min: 1, max: 6 }),
      minDuration: fc.constantFrom(10_000, 60_000, 300_000),
      renewal: fc.boolean(),
      window: fc.constantFrom(5_000, 30_000),
      autoscale: fc.option(fc.record({ min: fc.integer({ min: 1, max: 2 }), extra: fc.integer({ min: 0, max: 2 }), policy: fc.constantFrom("hpa" as const, "berth" as const) }), { nil: undefined }),
      notWith: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    })
    .map((g): LeaseSpec => {
      // Models of one lease share a group (a pool's lease, the pool's group, p0 onnxruntime, p1 pytorch):
      // keep the ones of the first model's platform.
      const picked = g.pool === undefined ? g.models : g.pool % 2 === 0 ? g.models.map((m) => [0, 2, 4][m % 3]!) : [1];
      const first = PLATFORMS[picked[0]!]!;
      const models = [...new Set(picked)].filter((m) => PLATFORMS[m] === first).map((m) => MODELS[m]!);
      return {
        name: `l${i}`,
        tenant: "t",
        models,
        where: g.pool === undefined ? { kind: "bespoke" } : { kind: "pool", pool: `p${g.pool}`, quota: 8 * GiB },
        resources: { gpuMemory: g.gpuMemory * GiB, gpus: g.pool === undefined ? g.gpus : 0, gpuMilli: g.gpus > 0 ? 0 : g.gpuMilli, cpu: 1000, memory: 4 * GiB, gpuModels: [] },
        image: "",
        minDuration: g.minDuration,
        renewal: { enabled: g.renewal, activityWindow: g.window },
        ...(g.autoscale && g.pool === undefined
          ? { autoscaling: { metric: "queue_time", target: 100, minReplicas: g.autoscale.min, maxReplicas: g.autoscale.min + g.autoscale.extra, policy: g.autoscale.policy } }
          : {}),
        colocation: { with: [], notWith: g.notWith === undefined ? [] : [`l${g.notWith}`] },
        labels: {},
      };
    });

export const worldArb: fc.Arbitrary<WorldSpec> = fc
  .record({ nodeCount: fc.integer({ min: 1, max: 3 }), poolCount: fc.integer({ min: 0, max: 2 }), specCount: fc.integer({ min: 2, max: 6 }), seed: fc.integer({ min: 0, max: 1 << 30 }) })
  .chain(({ nodeCount, poolCount, specCount, seed }) =>
    fc.record({
      nodes: fc.tuple(...Array.from({ length: nodeCount }, (_, i) => nodeArb(i))),
      pools: poolCount === 0 ? fc.constant([]) : fc.tuple(...Array.from({ length: poolCount }, (_, i) => poolArb(i))),
      specs: fc.tuple(...Array.from({ length: specCount }, (_, i) => specArb(i, poolCount))),
      fractions: fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
      seed: fc.constant(seed),
    }),
  )
  .map(({ nodes, pools, specs, fractions, seed }) => {
    const measuredFraction: Record<string, number> = {};
    specs.forEach((s, i) => (measuredFraction[modelSetKey(s.models)] ??= fractions[i % fractions.length]!));
    return {
      nodes,
      pools,
      specs,
      catalog: MODELS.map((model, i) => ({ model, platform: PLATFORMS[i]!, size: (i + 1) * GiB })),
      measuredFraction,
      seed,
    };
  });

/** One small node and no pools: every few leases, room runs out and eviction has to act. */
export const tightWorldArb: fc.Arbitrary<WorldSpec> = worldArb.map((w) => ({
  ...w,
  pools: [],
  nodes: [
    {
      name: "n0",
      cpu: 16_000,
      memory: 64 * GiB,
      gpus: [{ index: 0, model: "A10", memory: 16 * GiB }],
      state: "Ready",
    },
  ],
  specs: w.specs.map((spec) => ({ ...spec, where: { kind: "bespoke" as const }, resources: { ...spec.resources, gpus: 0, gpuMilli: 0 } })),
}));

/** Every lease bespoke and autoscaled, on roomy nodes: the autoscalers get to act. */
export const scalingWorldArb: fc.Arbitrary<WorldSpec> = worldArb.map((w) => ({
  ...w,
  pools: [],
  specs: w.specs.map((spec, i) => ({
    ...spec,
    where: { kind: "bespoke" as const },
    resources: { ...spec.resources, gpus: 0, gpuMilli: 200 },
    minDuration: 600_000,
    autoscaling: { metric: "queue_time", target: 100, minReplicas: 1 + (i % 2), maxReplicas: 3 + (i % 2), policy: i % 3 === 0 ? ("berth" as const) : ("hpa" as const) },
  })),
}));

/** The worlds the properties draw from. */
export const anyWorldArb: fc.Arbitrary<WorldSpec> = fc.oneof(worldArb, tightWorldArb, scalingWorldArb);

const dt = fc.constantFrom(0, 0, 500, 5_000, 20_000, 70_000);
const pick = fc.double({ min: 0, max: 0.999, noNaN: true });

export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ c: fc.constant("request" as const), spec: fc.integer({ min: 0, max: 5 }), dt }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("renew" as const), pick, by: fc.integer({ min: 0, max: 2 }), dt }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("release" as const), pick, by: fc.integer({ min: 0, max: 2 }), dt }) },
  { weight: 5, arbitrary: fc.record({ c: fc.constant("up" as const), pick, dt }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constantFrom("down" as const, "gone" as const), pick, dt }) },
  { weight: 5, arbitrary: fc.record({ c: fc.constant("loaded" as const), pick, dt }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("failed" as const), pick, dt }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("activity" as const), pick, byModel: fc.boolean(), dt }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant("metric" as const), pick, value: fc.constantFrom(10, 100, 400, 2000), dt }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant("tick" as const), dt }) },
);

const choose = <T>(items: readonly T[], p: number): T | undefined => (items.length === 0 ? undefined : items[Math.floor(p * items.length)]);

/** The event a command means in this snapshot (undefined when it has nothing to act on). */
export const resolve = (world: WorldSpec, s: Snapshot, cmd: Command, requested: number): Event | undefined => {
  const at = s.now + cmd.dt;
  const all = Object.keys(s.leases).sort().map((id) => s.leases[id]!);
  // Mostly the leases still in play; now and then an ended one (its events must be rejected).
  const inPlay = all.filter((l) => l.phase !== "Released" && l.phase !== "Failed");
  const leases = inPlay.length > 0 && cmd.dt !== 500 ? inPlay : all;
  const servers = Object.keys(s.servers).sort();
  switch (cmd.c) {
    case "request": {
      const base = world.specs[cmd.spec % world.specs.length]!;
      // Names repeat on purpose (every third request reuses one): duplicates must be rejected.
      const name = requested % 3 === 2 ? base.name : `${base.name}-${requested}`;
      return { _tag: "LeaseRequested", at, id: `id${requested}`, spec: { ...base, name } };
    }
    case "renew":
    case "release": {
      const lease = choose(leases, cmd.pick);
      if (!lease) return undefined;
      const by = cmd.by === 0 ? undefined : `client${cmd.by}`;
      return cmd.c === "renew"
        ? { _tag: "LeaseRenewed", at, name: lease.spec.name, ...(by ? { by } : {}) }
        : { _tag: "LeaseReleased", at, name: lease.spec.name, ...(by && lease.holders.includes(by) ? { by } : {}) };
    }
    case "up":
    case "down":
    case "gone": {
      const waiting = servers.filter((id) => s.servers[id]!.state !== "Ready");
      const serverId = choose(cmd.c === "up" && waiting.length > 0 ? waiting : servers, cmd.pick);
      if (!serverId) return undefined;
      const state = cmd.c === "up" ? "Up" : cmd.c === "down" ? "Down" : "Gone";
      return { _tag: "ServerObserved", at, serverId, state, readyReplicas: state === "Up" ? s.servers[serverId]!.replicas.length : 0 };
    }
    case "loaded":
    case "failed": {
      const lease = choose(
        leases.filter((l) => l.phase === "Loading" && l.placement?.assigned),
        cmd.pick,
      );
      if (!lease) return undefined;
      const serverId = lease.placement!.serverId;
      if (cmd.c === "failed") return { _tag: "ModelsFailed", at, serverId, leaseId: lease.id, error: "load failed" };
      const fraction = world.measuredFraction[modelSetKey(lease.spec.models)] ?? 1;
      return { _tag: "ModelsLoaded", at, serverId, leaseId: lease.id, measuredMemory: Math.floor(fraction * 8 * GiB), loadTime: 2000 };
    }
    case "activity": {
      const lease = choose(leases, cmd.pick);
      if (!lease) return undefined;
      return cmd.byModel
        ? { _tag: "Activity", at, model: lease.spec.models[0]!.name, requests: 3 }
        : { _tag: "Activity", at, lease: lease.spec.name, requests: 3 };
    }
    case "metric": {
      const lease = choose(
        leases.filter((l) => l.spec.autoscaling),
        cmd.pick,
      );
      return lease ? { _tag: "MetricObserved", at, leaseId: lease.id, sample: { value: cmd.value, readyReplicas: 1 } } : undefined;
    }
    case "tick":
      return { _tag: "Tick", at };
  }
};

/** Keep terminal leases for the whole run so "no lease lost" can be checked. */
export const testConfig: DecideConfig = { ...defaultDecideConfig, retainTerminal: Number.MAX_SAFE_INTEGER / 4 };

export interface Step {
  readonly before: Snapshot;
  readonly event: Event;
  readonly result: DecideResult;
}

/** Run a world's commands; `check` sees every step and the trace so far. */
export interface RunOptions {
  /** Step with decideOwned (tables updated in place) instead of decide. */
  readonly owned?: boolean;
  /** A fresh policy resolver for every step (no policy cache survives a step). */
  readonly freshPolicies?: boolean;
  /** Assert that decide leaves its input snapshot as it was (JSON before and after). */
  readonly checkInputUntouched?: boolean;
}

export const runWorld = (
  world: WorldSpec,
  commands: readonly Command[],
  config: DecideConfig,
  check?: (step: Step, trace: readonly Event[]) => void,
  options: RunOptions = {},
): { readonly steps: Step[]; readonly trace: Event[] } => {
  const shared = registryPolicies();
  let snapshot = emptySnapshot({ now: 0, seed: world.seed });
  const trace: Event[] = [];
  const steps: Step[] = [];
  const setup: Event[] = [
    { _tag: "ModelsCatalogued", at: 0, models: world.catalog },
    ...world.nodes.map((node): Event => ({ _tag: "NodeObserved", at: 0, node })),
    ...world.pools.map((spec): Event => ({ _tag: "PoolDefined", at: 0, spec })),
  ];
  let requested = 0;
  const apply = (event: Event): void => {
    const policies = options.freshPolicies ? registryPolicies() : shared;
    const input = options.checkInputUntouched ? JSON.stringify(snapshot) : undefined;
    const result = (options.owned ? decideOwned : decide)(snapshot, event, config, policies);
    if (input !== undefined && JSON.stringify(snapshot) !== input) throw new Error(`decide changed its input on ${event._tag}\n${formatTrace([...trace, event])}`);
    trace.push(event);
    const step = { before: snapshot, event, result };
    steps.push(step);
    snapshot = result.snapshot;
    check?.(step, trace);
  };
  for (const event of setup) apply(event);
  for (const cmd of commands) {
    const event = resolve(world, snapshot, cmd, requested);
    if (cmd.c === "request") requested++;
    if (event) apply(event);
  }
  return { steps, trace };
};

/** One line per event, for failure messages. */
export const formatTrace = (trace: readonly Event[]): string =>
  trace
    .map((e, i) => {
      const { _tag, at, ...rest } = e;
      const body =
        _tag === "LeaseRequested"
          ? (() => {
              const r = rest as { id: string; spec: LeaseSpec };
              const s = r.spec;
              const where = s.where.kind === "pool" ? `pool ${s.where.pool}` : "bespoke";
              return `${r.id} ${s.name} ${where} models=${s.models.map((m) => m.name).join("+")} gpus=${s.resources.gpus} milli=${s.resources.gpuMilli} mem=${s.resources.gpuMemory / GiB}Gi min=${s.minDuration}${s.autoscaling ? ` autoscale=${s.autoscaling.minReplicas}..${s.autoscaling.maxReplicas}` : ""}`;
            })()
          : _tag === "NodeObserved"
            ? `${e._tag === "NodeObserved" ? `${e.node.name} gpus=${e.node.gpus.map((g) => g.memory / GiB).join(",")}Gi` : ""}`
            : JSON.stringify(rest);
      return `${String(i).padStart(3)} t=${at} ${_tag} ${body}`;
    })
    .join("\n");
