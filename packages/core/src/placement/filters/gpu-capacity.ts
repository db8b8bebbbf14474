// GPU room, GPU by GPU. Whole GPUs: k allowed GPUs with nothing on them. A share: one allowed
// GPU with enough free milli-GPU and GPU memory. Both count only GPUs the request's group may
// use, so a Fits here means assigning succeeds. Never when even the empty node could not.
import type { ClusterIndex } from "../cluster-index.js";
import { MILLI_PER_GPU } from "../../units.js";
import { GPU_NONE, GPU_WHOLE, modelAllowed, shareFitsGpu, wholeFitsGpu, type CompiledRequest } from "../request.js";
import type { Reason } from "../types.js";
import { FIT, NEVER, NOT_NOW, type FilterCode, type NodeFilter } from "./filter.js";

export const GPU_CAPACITY = "GpuCapacity";
export const INSUFFICIENT_WHOLE_GPUS = "InsufficientWholeGpus";
export const TOO_FEW_GPUS = "NodeHasTooFewGpus";
export const INSUFFICIENT_GPU_SHARE = "NoGpuWithEnoughFreeShare";
export const SHARE_TOO_LARGE = "ShareLargerThanAnyGpu";

export const filterGpuCapacity = (ix: ClusterIndex, node: number, r: CompiledRequest, reasons?: Reason[]): FilterCode => {
  if (r.gpuKind === GPU_NONE) return FIT;
  const start = ix.gpuStart[node];
  const end = ix.gpuStart[node + 1];
  if (r.gpuKind === GPU_WHOLE) {
    let allowed = 0;
    let free = 0;
    for (let g = start; g < end; g++) {
      if (!modelAllowed(ix, g, r.models)) continue;
      allowed += 1;
      if (wholeFitsGpu(ix, g, r)) free += 1;
    }
    if (free >= r.count) return FIT;
    const never = allowed < r.count;
    reasons?.push({ plugin: GPU_CAPACITY, reason: never ? TOO_FEW_GPUS : INSUFFICIENT_WHOLE_GPUS, need: r.count, free: never ? allowed : free });
    return never ? NEVER : NOT_NOW;
  }
  let bestFree = 0;
  let capable = false;
  for (let g = start; g < end; g++) {
    if (shareFitsGpu(ix, g, r)) return FIT;
    if (!modelAllowed(ix, g, r.models)) continue;
    if (ix.gpuMemCap[g] >= r.gpuMemory && r.milli <= MILLI_PER_GPU) capable = true;
    const f = MILLI_PER_GPU - ix.gpuMilliUsed[g];
    if (f > bestFree) bestFree = f;
  }
  reasons?.push({ plugin: GPU_CAPACITY, reason: capable ? INSUFFICIENT_GPU_SHARE : SHARE_TOO_LARGE, need: r.milli, free: bestFree });
  return capable ? NOT_NOW : NEVER;
};

export const gpuCapacityFilter = (): NodeFilter => ({ name: GPU_CAPACITY, filter: filterGpuCapacity });
