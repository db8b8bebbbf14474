// Which GPU(s) of the chosen node a request takes. Whole GPUs: the first k free ones by index
// (the FGD simulator's AllocateExclusiveGpuId). A share: the policy's choice among the GPUs
// that can take it; these are the simulator's GPU selection methods (best, worst, random) plus
// first fit.
import type { GpuAssignment } from "../cluster/types.js";
import type { Rng } from "../random/rng.js";
import { MILLI_PER_GPU } from "../units.js";
import type { ClusterIndex } from "./cluster-index.js";
import { GPU_NONE, GPU_WHOLE, shareFitsGpu, wholeFitsGpu, type CompiledRequest } from "./request.js";

/** Picks the flat index of the GPU a share goes to on `node`, or -1 when none can take it. */
export type ShareGpuSelector = (ix: ClusterIndex, node: number, r: CompiledRequest, rng: Rng) => number;

/** Least free milli-GPU that fits (then least free memory); ties to the lowest index. */
export const bestFitGpu: ShareGpuSelector = (ix, node, r) => {
  let best = -1;
  for (let g = ix.gpuStart[node]; g < ix.gpuStart[node + 1]; g++) {
    if (!shareFitsGpu(ix, g, r)) continue;
    if (
      best < 0 ||
      ix.gpuMilliUsed[g] > ix.gpuMilliUsed[best] ||
      (ix.gpuMilliUsed[g] === ix.gpuMilliUsed[best] && ix.gpuMemCap[g] - ix.gpuMemUsed[g] < ix.gpuMemCap[best] - ix.gpuMemUsed[best])
    ) {
      best = g;
    }
  }
  return best;
};

/** Most free milli-GPU; ties to the lowest index. */
export const worstFitGpu: ShareGpuSelector = (ix, node, r) => {
  let best = -1;
  for (let g = ix.gpuStart[node]; g < ix.gpuStart[node + 1]; g++) {
    if (shareFitsGpu(ix, g, r) && (best < 0 || ix.gpuMilliUsed[g] < ix.gpuMilliUsed[best])) best = g;
  }
  return best;
};

export const firstFitGpu: ShareGpuSelector = (ix, node, r) => {
  for (let g = ix.gpuStart[node]; g < ix.gpuStart[node + 1]; g++) if (shareFitsGpu(ix, g, r)) return g;
  return -1;
};

/** Uniform among the GPUs that fit (reservoir sampling, as the simulator's random fit). */
export const randomGpu: ShareGpuSelector = (ix, node, r, rng) => {
  let chosen = -1;
  let seen = 0;
  for (let g = ix.gpuStart[node]; g < ix.gpuStart[node + 1]; g++) {
    if (!shareFitsGpu(ix, g, r)) continue;
    seen += 1;
    if (rng.int(seen) === 0) chosen = g;
  }
  return chosen;
};

/** The assignment on `node`: `shareGpu` is the flat index of the GPU for a share request. */
export const assignmentFor = (ix: ClusterIndex, node: number, r: CompiledRequest, shareGpu: number): GpuAssignment[] => {
  const start = ix.gpuStart[node];
  if (r.gpuKind === GPU_NONE) return [];
  if (r.gpuKind === GPU_WHOLE) {
    const out: GpuAssignment[] = [];
    for (let g = start; g < ix.gpuStart[node + 1] && out.length < r.count; g++) {
      if (wholeFitsGpu(ix, g, r)) out.push({ index: g - start, milli: MILLI_PER_GPU, memory: ix.gpuMemCap[g] });
    }
    return out;
  }
  return [{ index: shareGpu - start, milli: r.milli, memory: r.gpuMemory }];
};

/** What identifies a GPU within a node state (two nodes in one state hold the same GPUs). */
export interface GpuAttributes {
  model: number;
  memCap: number;
  milliUsed: number;
  memUsed: number;
  group: number;
}

export const readGpuAttributes = (ix: ClusterIndex, g: number, out: GpuAttributes): void => {
  out.model = ix.gpuModel[g];
  out.memCap = ix.gpuMemCap[g];
  out.milliUsed = ix.gpuMilliUsed[g];
  out.memUsed = ix.gpuMemUsed[g];
  out.group = ix.gpuGroup[g];
};

/** The first GPU of `node` with the given attributes, or -1. */
export const gpuWithAttributes = (ix: ClusterIndex, node: number, a: GpuAttributes): number => {
  for (let h = ix.gpuStart[node]; h < ix.gpuStart[node + 1]; h++) {
    if (
      ix.gpuModel[h] === a.model &&
      ix.gpuMemCap[h] === a.memCap &&
      ix.gpuMilliUsed[h] === a.milliUsed &&
      ix.gpuMemUsed[h] === a.memUsed &&
      ix.gpuGroup[h] === a.group
    ) {
      return h;
    }
  }
  return -1;
};
