import type { ClusterNode } from "../../src/cluster/types.js";
import { decide, emptySnapshot, registryPolicies, defaultDecideConfig } from "../../src/decide/index.js";
import type { DecideConfig, DecidePolicies, DecideResult, Event, Intent, Snapshot } from "../../src/decide/index.js";
import type { LeaseSpec, PoolSpec } from "../../src/spec/types.js";
import { GiB } from "../../src/units.js";

export const node = (name: string, gpus = 2, gpuMemory = 24 * GiB, model = "A10"): ClusterNode => ({
  name,
  cpu: 32_000,
  memory: 256 * GiB,
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, model, memory: gpuMemory })),
  state: "Ready",
});

export const leaseSpec = (name: string, over: Partial<LeaseSpec> = {}): LeaseSpec => ({
  name,
  tenant: "team-a",
  models: [{ name: "resnet", repository: "repo" }],
  where: { kind: "bespoke" },
  resources: { gpuMemory: 4 * GiB, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 4 * GiB, gpuModels: [] },
  image: "",
  minDuration: 60_000,
  renewal: { enabled: true, activityWindow: 30_000 },
  colocation: { with: [], notWith: [] },
  labels: {},
  ...over,
});

export const poolSpec = (name: string, over: Partial<PoolSpec> = {}): PoolSpec => ({
  name,
  template: {
    image: "triton",
    group: "default",
    resources: { gpuMemory: 16 * GiB, gpus: 0, gpuMilli: 0, cpu: 2000, memory: 8 * GiB, gpuModels: [] },
  },
  minInstances: 1,
  maxInstances: 2,
  quotaPerInstance: 8 * GiB,
  ...over,
});

/** A small world: runs events in order and keeps every result. */
export class World {
  snapshot: Snapshot;
  readonly results: DecideResult[] = [];
  readonly policies: DecidePolicies;
  constructor(
    readonly config: DecideConfig = defaultDecideConfig,
    seed = 7,
  ) {
    this.snapshot = emptySnapshot({ now: 0, seed });
    this.policies = registryPolicies(config);
  }
  step(event: Event): DecideResult {
    const result = decide(this.snapshot, event, this.config, this.policies);
    this.snapshot = result.snapshot;
    this.results.push(result);
    return result;
  }
  lease(name: string) {
    return Object.values(this.snapshot.leases).find((l) => l.spec.name === name);
  }
}

export const tagged = <T extends Intent["_tag"]>(intents: readonly Intent[], tag: T): Extract<Intent, { _tag: T }>[] =>
  intents.filter((i): i is Extract<Intent, { _tag: T }> => i._tag === tag);

/** A World with one bespoke lease `l1` ("a", autoscaled by `autoscaling`) Ready on its own server on a 4-GPU node. */
export const readyAutoscaledLease = (config: DecideConfig, autoscaling: NonNullable<LeaseSpec["autoscaling"]>): { w: World; serverId: string } => {
  const w = new World(config);
  w.step({ _tag: "NodeObserved", at: 0, node: node("n0", 4) });
  const requested = w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a", { autoscaling, minDuration: 3_600_000 }) });
  const serverId = tagged(requested.intents, "EnsureServer")[0]!.serverId;
  w.step({ _tag: "ServerObserved", at: 0, serverId, state: "Up", readyReplicas: 1 });
  w.step({ _tag: "ModelsLoaded", at: 0, serverId, leaseId: "l1", measuredMemory: 3 * GiB });
  return { w, serverId };
};
