// One cell of the experiment (a policy on a seed) from file names to a curve: what a worker
// thread runs. Each seed decides the arrival order and the node order (the artifact renames
// nodes with a seeded permutation), and seeds the policy's random source.
import { rngFromSeed } from "@berth/core/random/rng";
import { performance } from "node:perf_hooks";
import { readNodes, readPods } from "./files.js";
import { runPacking } from "./packing.js";
import { createPackingPolicy, policyWorkloads } from "./policies.js";
import { clusterGpuMilli, toClusterNode, toPlacementRequest, type OpenbNode, type OpenbPod } from "./trace.js";
import { buildArrivalSequence, shuffleInPlace } from "./workload.js";

export const ARRIVAL_RATIO = 1.3;

export interface CellTask {
  readonly nodesFile: string;
  readonly podsFile: string;
  readonly policy: string;
  readonly seed: number;
}

export interface CellResult {
  readonly policy: string;
  readonly seed: number;
  readonly curve: number[];
  readonly placed: number;
  readonly failed: number;
  readonly placeSeconds: number;
}

/** Only GPU nodes take part, as in the artifact (openb_node_list_gpu_node). */
export const gpuNodesOf = (nodes: readonly OpenbNode[]): OpenbNode[] => nodes.filter((n) => n.gpus > 0);

export const runCell = (nodes: readonly OpenbNode[], pods: readonly OpenbPod[], policy: string, seed: number): CellResult => {
  const gpuNodes = gpuNodesOf(nodes);
  const rng = rngFromSeed(seed);
  const sequence = buildArrivalSequence(pods, clusterGpuMilli(gpuNodes), ARRIVAL_RATIO, rng);
  const cluster = shuffleInPlace(gpuNodes.map(toClusterNode), rng);
  const run = runPacking(cluster, sequence.pods, createPackingPolicy(policy, policyWorkloads(pods.map((p) => toPlacementRequest(p)))), rng, { now: () => performance.now() });
  return { policy, seed, curve: run.curve, placed: run.placed, failed: run.failed, placeSeconds: run.placeSeconds };
};

const traceCache = new Map<string, { nodes: OpenbNode[] } | { pods: OpenbPod[] }>();

export const runCellTask = (task: CellTask): CellResult => {
  const nodesHit = traceCache.get(`n:${task.nodesFile}`);
  const nodes = nodesHit !== undefined && "nodes" in nodesHit ? nodesHit.nodes : readNodes(task.nodesFile);
  traceCache.set(`n:${task.nodesFile}`, { nodes });
  const podsHit = traceCache.get(`p:${task.podsFile}`);
  const pods = podsHit !== undefined && "pods" in podsHit ? podsHit.pods : readPods(task.podsFile);
  traceCache.set(`p:${task.podsFile}`, { pods });
  return runCell(nodes, pods, task.policy, task.seed);
};
