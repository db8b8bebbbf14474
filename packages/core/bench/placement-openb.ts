// Quick packing benchmark of the node-level policies on the openb `default` trace (the FGD
// paper's experiment, one seed): pods sampled with replacement until the arrived GPU request
// reaches 130% of capacity, placed in order, nothing departs. Prints placements per second and
// the GPU allocation ratio at the end, per policy.
// Run: npx tsx packages/core/bench/placement-openb.ts [seed] [policies...]  (OPENB_NODES=all adds the CPU-only nodes)
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterNode } from "../src/cluster/types.js";
import { ClusterState } from "../src/placement/cluster-state.js";
import { createPolicy, isPolicyName, POLICY_NAMES, type PolicyName } from "../src/placement/registry.js";
import type { PlacementRequest } from "../src/placement/types.js";
import { targetWorkloadFromRequests } from "../src/placement/workload.js";
import { rngFromSeed } from "../src/random/rng.js";
import { GiB, MiB } from "../src/units.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const data = path.resolve(here, "../../../../shared/data/openb");
const csv = (file: string): Record<string, string>[] => {
  const [head, ...lines] = readFileSync(path.join(data, file), "utf8").trim().split(/\r?\n/);
  const cols = head.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i], v])));
};

const nodes: ClusterNode[] = csv(process.env.OPENB_NODES === "all" ? "openb_node_list_all_node.csv" : "openb_node_list_gpu_node.csv").map((r) => ({
  name: r.sn,
  cpu: Number(r.cpu_milli),
  memory: Number(r.memory_mib) * MiB,
  gpus: Array.from({ length: Number(r.gpu) }, (_, index) => ({ index, model: r.model, memory: 16 * GiB })),
  state: "Ready",
}));
const pods: PlacementRequest[] = csv("openb_pod_list_default.csv").map((r) => {
  const n = Number(r.num_gpu);
  const milli = Number(r.gpu_milli);
  return {
    id: r.name,
    cpu: Number(r.cpu_milli),
    memory: Number(r.memory_mib) * MiB,
    gpu: n === 0 ? { kind: "none" } : milli < 1000 ? { kind: "share", milli, memory: 0 } : { kind: "whole", count: n },
    ...(r.gpu_spec ? { gpuModels: r.gpu_spec.split("|") } : {}),
  };
});

const seed = Number(process.argv[2] ?? 42);
const names = process.argv.slice(3).filter(isPolicyName);
const policies: readonly PolicyName[] = names.length > 0 ? names : POLICY_NAMES;
const capacity = nodes.reduce((s, n) => s + n.gpus.length * 1000, 0);
const rng = rngFromSeed(seed);
const arrivals: PlacementRequest[] = [];
let arrived = 0;
while (arrived < 1.3 * capacity) {
  const p = pods[rng.int(pods.length)];
  arrivals.push({ ...p, id: `${p.id}#${arrivals.length}` });
  arrived += p.gpu.kind === "share" ? p.gpu.milli : p.gpu.kind === "whole" ? p.gpu.count * 1000 : 0;
}
const workload = targetWorkloadFromRequests(pods);
let line = "";
for (const name of policies) {
  const policy = createPolicy(name, { workload });
  const cluster = new ClusterState(nodes);
  const prng = rngFromSeed(seed);
  const t0 = performance.now();
  let failed = 0;
  for (const req of arrivals) {
    const d = policy.place(req, cluster, prng);
    if (d.chosen === undefined) failed += 1;
    else cluster.assign(req, d.chosen);
  }
  const s = (performance.now() - t0) / 1000;
  line = `${name}: ${(arrivals.length / s).toFixed(0)} placements/s, allocation ${((100 * cluster.allocatedGpuMilli) / capacity).toFixed(2)}%, unplaced ${failed}/${arrivals.length}`;
  console.log(line);
}
