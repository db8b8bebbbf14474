// BestFit (the FGD paper's baseline, simulator's BestFitScore): the node whose free CPU and
// free GPU (summed over its GPUs) are closest to the request, weighted half and half and
// normalised by the largest node; kube's integer score, higher is better.
import type { ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";
import { MAX_NODE_SCORE, MAX_SPEC_CPU, MAX_SPEC_GPU, totalGpuFree, type NodeScorer } from "./scorer.js";

export const BEST_FIT_SCORE = "BestFitScore";

export const bestFitScore = (ix: ClusterIndex, node: number, r: CompiledRequest): number => {
  const cpuLeft = ix.cpuCap[node] - ix.cpuUsed[node] - r.cpu;
  const gpuLeft = totalGpuFree(ix, node) - r.totalMilli;
  const s = (cpuLeft / MAX_SPEC_CPU) * 0.5 + (gpuLeft / MAX_SPEC_GPU) * 0.5;
  return Math.trunc((1 - s) * MAX_NODE_SCORE);
};

export const bestFitScorer = (): NodeScorer => ({ name: BEST_FIT_SCORE, score: bestFitScore });
