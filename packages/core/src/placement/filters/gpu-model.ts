// A request restricted to some GPU models never fits a node without such a GPU.
import type { ClusterIndex } from "../cluster-index.js";
import { GPU_NONE, modelAllowed, type CompiledRequest } from "../request.js";
import type { Reason } from "../types.js";
import { FIT, NEVER, type FilterCode, type NodeFilter } from "./filter.js";

export const GPU_MODEL = "GpuModel";
export const GPU_MODEL_MISMATCH = "GpuModelMismatch";
export const NO_GPU = "NodeHasNoGpu";

export const filterGpuModel = (ix: ClusterIndex, node: number, r: CompiledRequest, reasons?: Reason[]): FilterCode => {
  if (r.gpuKind === GPU_NONE) return FIT;
  const start = ix.gpuStart[node];
  const end = ix.gpuStart[node + 1];
  if (start === end) {
    reasons?.push({ plugin: GPU_MODEL, reason: NO_GPU, need: r.count, free: 0 });
    return NEVER;
  }
  for (let g = start; g < end; g++) if (modelAllowed(ix, g, r.models)) return FIT;
  reasons?.push({ plugin: GPU_MODEL, reason: GPU_MODEL_MISMATCH });
  return NEVER;
};

export const gpuModelFilter = (): NodeFilter => ({ name: GPU_MODEL, filter: filterGpuModel });
