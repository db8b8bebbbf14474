// Placement throughput: the openb default pods (one 130% arrival sequence, seed 42) placed on
// the openb GPU cluster by each policy from the registry, as the packing experiment places
// them. Prints placements per CPU-second (place + assign, one thread) per policy; the headline, Berth's default
// policy, is the last line.   npm run bench:placement [-- --policies a,b --repeat N]
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterNode } from "../src/cluster/types.js";
import type { PlacementRequest } from "../src/placement/types.js";
import { GiB, MiB } from "../src/units.js";
import { ClusterState } from "../src/placement/cluster-state.js";
import { createPolicy, isPolicyName, POLICY_NAMES, type PolicyName } from "../src/placement/registry.js";
import { targetWorkloadFromRequests } from "../src/placement/workload.js";
import { rngFromSeed } from "../src/random/rng.js";
import type { Rng } from "../src/random/rng.js";

// The core may not import the simulator (sim depends on core), so the bench reads the two CSV
// files itself, the way sim/src/openb/trace.ts does, and builds the arrival sequence the way
// sim/src/openb/workload.ts does (see there for the FGD artifact's rules).
const OPENB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../shared/data/openb");
const csv = (file: string): Record<string, string>[] => {
  const [head, ...lines] = readFileSync(path.join(OPENB, file), "utf8").trim().split(/\r?\n/);
  const cols = head.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i], v])));
};
const shuffleInPlace = <T>(xs: T[], rng: Rng): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};
const gpuMemory: Record<string, number> = { P100: 16 * GiB, T4: 16 * GiB, V100M16: 16 * GiB, V100M32: 32 * GiB, A10: 24 * GiB, G2: 24 * GiB, G3: 32 * GiB };
const nodes: ClusterNode[] = csv("openb_node_list_gpu_node.csv").map((r) => ({
  name: r.sn,
  cpu: Number(r.cpu_milli),
  memory: Number(r.memory_mib) * MiB,
  gpus: Array.from({ length: Number(r.gpu) }, (_, index) => ({ index, model: r.model, memory: gpuMemory[r.model] ?? 16 * GiB })),
  state: "Ready" as const,
}));
const pods: PlacementRequest[] = csv("openb_pod_list_default.csv").map((r) => {
  const count = Number(r.num_gpu);
  const milli = Number(r.gpu_milli);
  const spec = (r.gpu_spec ?? "").split("|").filter((m) => m !== "");
  return {
    id: r.name,
    cpu: Number(r.cpu_milli),
    memory: Number(r.memory_mib) * MiB,
    gpu: count === 0 || milli === 0 ? { kind: "none" } : count === 1 && milli < 1000 ? { kind: "share", milli, memory: 0 } : { kind: "whole", count },
    ...(spec.length > 0 ? { gpuModels: spec } : {}),
  };
});
const gpuMilliOf = (r: PlacementRequest): number => (r.gpu.kind === "share" ? r.gpu.milli : r.gpu.kind === "whole" ? r.gpu.count * 1000 : 0);

const HEADLINE: PolicyName = "berth";
const arg = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const requested = (arg("--policies") ?? POLICY_NAMES.join(",")).split(",").filter((p) => p !== "");
const bad = requested.filter((p) => !isPolicyName(p));
if (bad.length > 0) {
  console.error(`unknown policies: ${bad.join(", ")}; known: ${POLICY_NAMES.join(", ")}`);
  process.exit(2);
}
const policies = [...requested.filter((p) => p !== HEADLINE), ...(requested.includes(HEADLINE) ? [HEADLINE] : [])] as PolicyName[];
const repeat = Math.max(1, Number(arg("--repeat") ?? 3));

const capacity = nodes.reduce((s, n) => s + n.gpus.length * 1000, 0);
const rng = rngFromSeed(42);
const sequence = shuffleInPlace([...pods], rng);
let total = sequence.reduce((s, r) => s + gpuMilliOf(r), 0);
for (;;) {
  const drawn = pods[rng.int(pods.length)];
  if (total + gpuMilliOf(drawn) > 1.3 * capacity) break;
  sequence.push(drawn);
  total += gpuMilliOf(drawn);
}
const cluster = shuffleInPlace([...nodes], rng);
const requests = sequence.map((r, i) => ({ ...r, id: `${i}:${r.id}` }));
const typical = targetWorkloadFromRequests(pods, { popularityThreshold: 95 });
const all = targetWorkloadFromRequests(pods, { popularityThreshold: 100 });

console.log(`placement bench: openb default, ${requests.length} pods (130% of ${capacity / 1000} GPUs, seed 42) on ${cluster.length} nodes, best of ${repeat}, placements per CPU-second`);
for (const name of policies) {
  let best = 0;
  let placed = 0;
  for (let r = 0; r < repeat; r++) {
    // A fresh cluster and policy per run: the timing includes building every cache.
    const state = new ClusterState(cluster);
    const policy = createPolicy(name, { workload: name === "berth" ? all : typical });
    const policyRng = rngFromSeed(42);
    placed = 0;
    // CPU time, not wall time: the figure is per core, and stays honest on a shared machine.
    const t0 = process.cpuUsage();
    for (const request of requests) {
      const d = policy.place(request, state, policyRng);
      if (d.chosen !== undefined) {
        state.assign(request, d.chosen);
        placed += 1;
      }
    }
    const used = process.cpuUsage(t0);
    best = Math.max(best, requests.length / ((used.user + used.system) / 1e6));
  }
  const line = `${name.padEnd(14)} ${Math.round(best).toLocaleString("en-US").padStart(9)} placements/s  (${placed} of ${requests.length} pods placed)`;
  console.log(name === HEADLINE ? `headline: ${line}` : line);
}
