// decide throughput on a growing fleet: how many events per second the one reducer handles
// as leases accumulate (the simulator and the control plane both pay this per event).
// Run: npx tsx packages/core/bench/decide.bench.ts [nodes] [leases] [pure|owned]
import { decide, decideOwned, defaultDecideConfig, emptySnapshot, registryPolicies, type Event, type Snapshot } from "../src/decide/index.js";
import { rngFromSeed } from "../src/random/rng.js";
import type { LeaseSpec } from "../src/spec/types.js";
import { GiB } from "../src/units.js";

const nodes = Number(process.argv[2] ?? 200);
const leases = Number(process.argv[3] ?? 5000);
const mode = process.argv[4] === "pure" ? "pure" : "owned";
const reducer = mode === "pure" ? decide : decideOwned;
const config = { ...defaultDecideConfig, explain: false };
const policies = registryPolicies();
const rng = rngFromSeed(42);

let snapshot: Snapshot = emptySnapshot({ now: 0, seed: 1 });
let events = 0;
const step = (event: Event) => {
  const result = reducer(snapshot, event, config, policies);
  snapshot = result.snapshot;
  events++;
  return result;
};

for (let i = 0; i < nodes; i++)
  step({
    _tag: "NodeObserved",
    at: 0,
    node: { name: `n${String(i).padStart(4, "0")}`, cpu: 96_000, memory: 1024 * GiB, gpus: Array.from({ length: 8 }, (_, index) => ({ index, model: "A100", memory: 80 * GiB })), state: "Ready" },
  });
step({
  _tag: "PoolDefined",
  at: 0,
  spec: { name: "shared", template: { image: "triton", group: "default", resources: { gpuMemory: 40 * GiB, gpus: 0, gpuMilli: 0, cpu: 4000, memory: 32 * GiB, gpuModels: [] } }, minInstances: 4, maxInstances: nodes, quotaPerInstance: 8 * GiB },
});

const spec = (i: number): LeaseSpec => ({
  name: `lease-${i}`,
  tenant: "t",
  models: [{ name: `model-${i % 300}`, repository: "repo" }],
  where: i % 3 === 0 ? { kind: "pool", pool: "shared", quota: 8 * GiB } : { kind: "bespoke" },
  resources: { gpuMemory: (1 + (i % 6)) * GiB, gpus: i % 17 === 0 ? 1 : 0, gpuMilli: 0, cpu: 1000, memory: 4 * GiB, gpuModels: [] },
  image: "",
  minDuration: 10 * 60_000,
  renewal: { enabled: true, activityWindow: 5 * 60_000 },
  colocation: { with: [], notWith: [] },
  labels: {},
});

let now = 0;
const start = performance.now();
let windowStart = start;
let windowEvents = 0;
for (let i = 0; i < leases; i++) {
  now += 100;
  const r = step({ _tag: "LeaseRequested", at: now, id: `id-${i}`, spec: spec(i) });
  for (const intent of r.intents)
    if (intent._tag === "EnsureServer") step({ _tag: "ServerObserved", at: now, serverId: intent.serverId, state: "Up", readyReplicas: intent.replicas });
  const lease = snapshot.leases[`id-${i}`];
  if (lease?.placement?.assigned) step({ _tag: "ModelsLoaded", at: now, serverId: lease.placement.serverId, leaseId: lease.id, measuredMemory: lease.memory * 0.8 });
  step({ _tag: "Activity", at: now, lease: `lease-${rng.int(i + 1)}`, requests: 1 });
  if (i % 50 === 0) step({ _tag: "Tick", at: now });
  windowEvents = events;
  if ((i + 1) % Math.max(1, Math.floor(leases / 5)) === 0) {
    const t = performance.now();
    const live = Object.values(snapshot.leases).filter((l) => l.phase === "Ready" || l.phase === "Loading" || l.phase === "Placing").length;
    console.log(`leases requested ${i + 1}: ${live} live, ${Object.keys(snapshot.servers).length} servers, ${(t - windowStart).toFixed(0)} ms for this fifth`);
    windowStart = t;
  }
}
const seconds = (performance.now() - start) / 1000;
void windowEvents;
console.log(`decide (${mode}): ${events} events on ${nodes} nodes x 8 GPUs in ${seconds.toFixed(2)} s = ${Math.round(events / seconds)} events/s`);
