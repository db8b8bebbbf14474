// Spread (kube-scheduler's NodeResourcesLeastAllocated, with GPUs as a third resource): the
// node left with the largest free fraction of CPU, memory and GPU after placing, on average.
import type { ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";
import { MAX_NODE_SCORE, totalGpuFree, type NodeScorer } from "./scorer.js";

export const LEAST_ALLOCATED_SCORE = "LeastAllocatedScore";

export const leastAllocatedScore = (ix: ClusterIndex, node: number, r: CompiledRequest): number => {
  let sum = 0;
  let dims = 0;
  const cpuCap = ix.cpuCap[node];
  if (cpuCap > 0) {
    sum += (cpuCap - ix.cpuUsed[node] - r.cpu) / cpuCap;
    dims += 1;
  }
  const memCap = ix.memCap[node];
  if (memCap > 0) {
    sum += (memCap - ix.memUsed[node] - r.memory) / memCap;
    dims += 1;
  }
  const gpus = ix.gpuStart[node + 1] - ix.gpuStart[node];
  if (gpus > 0) {
    sum += (totalGpuFree(ix, node) - r.totalMilli) / (gpus * 1000);
    dims += 1;
  }
  return dims === 0 ? 0 : (MAX_NODE_SCORE * sum) / dims;
};

export const leastAllocatedScorer = (): NodeScorer => ({ name: LEAST_ALLOCATED_SCORE, score: leastAllocatedScore });
