// DotProd (Tetris, as the FGD paper's simulator runs it: dimExtMethod "share", normMethod
// "max"): for each way the node could serve the request (each partly used GPU with room, or its
// fully free GPUs together) the dot product of the node's free (CPU, GPU) vector and the
// request's vector, normalised by the largest node; the smaller the product, the better
// (score = 1 - product / 2). The best way also chooses the GPU.
import { MILLI_PER_GPU } from "../../units.js";
import type { ClusterIndex } from "../cluster-index.js";
import { shareFitsGpu, wholeFitsGpu, type CompiledRequest } from "../request.js";
import { MAX_NODE_SCORE, MAX_SPEC_CPU, MAX_SPEC_GPU, type GpuPick, type NodeScorer } from "./scorer.js";

export const DOT_PRODUCT_SCORE = "DotProductScore";

export const dotProductScore = (ix: ClusterIndex, node: number, r: CompiledRequest, pick: GpuPick): number => {
  const cpuFree = ix.cpuCap[node] - ix.cpuUsed[node];
  if (cpuFree < r.cpu) return 0;
  const cpuTerm = (cpuFree / MAX_SPEC_CPU) * (r.cpu / MAX_SPEC_CPU);
  const podGpu = r.totalMilli / MAX_SPEC_GPU;
  let best = -1;
  pick.gpu = -1;
  const start = ix.gpuStart[node];
  const end = ix.gpuStart[node + 1];
  let idle = 0;
  let firstIdle = -1;
  for (let g = start; g < end; g++) {
    if (wholeFitsGpu(ix, g, r)) {
      idle += 1;
      if (firstIdle < 0) firstIdle = g;
    }
  }
  if (r.totalMilli < MILLI_PER_GPU) {
    for (let g = start; g < end; g++) {
      const free = MILLI_PER_GPU - ix.gpuMilliUsed[g];
      if (free >= MILLI_PER_GPU || !shareFitsGpu(ix, g, r)) continue;
      const s = 1 - (cpuTerm + (free / MAX_SPEC_GPU) * podGpu) / 2;
      if (best < s) {
        best = s;
        pick.gpu = g;
      }
    }
  }
  if (r.totalMilli <= idle * MILLI_PER_GPU) {
    const s = 1 - (cpuTerm + ((idle * MILLI_PER_GPU) / MAX_SPEC_GPU) * podGpu) / 2;
    if (best < s) {
      best = s;
      pick.gpu = firstIdle;
    }
  }
  return best < 0 ? 0 : Math.trunc(MAX_NODE_SCORE * best);
};

export const dotProductScorer = (): NodeScorer => ({ name: DOT_PRODUCT_SCORE, score: dotProductScore });
