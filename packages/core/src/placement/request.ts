// A PlacementRequest turned into numbers once per placement, so filters and scorers compare
// numbers on the hot path.
import { MILLI_PER_GPU } from "../units.js";
import { shapeTag, type ClusterIndex } from "./cluster-index.js";
import type { PlacementRequest } from "./types.js";

export const GPU_NONE = 0;
export const GPU_SHARE = 1;
export const GPU_WHOLE = 2;

export interface CompiledRequest {
  readonly source: PlacementRequest;
  readonly cpu: number;
  readonly memory: number;
  readonly gpuKind: number;
  /** Per-GPU milli: the share, or 1000 for whole GPUs, 0 without GPUs. */
  readonly milli: number;
  /** GPU memory needed on the shared GPU (share only). */
  readonly gpuMemory: number;
  /** Number of GPUs: 1 for a share, k for whole, 0 without. */
  readonly count: number;
  /** Total milli-GPU asked for (milli x count). */
  readonly totalMilli: number;
  /** Allowed model ids (index into the cluster's model ids), or undefined for any model. */
  readonly models: Uint8Array | undefined;
  /** Group id, -1 when the request carries no group. */
  readonly group: number;
  /** GpuClustering's tag for the request, undefined without GPUs. */
  readonly tag: string | undefined;
}

export const compileRequest = (r: PlacementRequest, ix: ClusterIndex): CompiledRequest => {
  const gpu = r.gpu;
  const gpuKind = gpu.kind === "share" ? GPU_SHARE : gpu.kind === "whole" ? GPU_WHOLE : GPU_NONE;
  const milli = gpu.kind === "share" ? gpu.milli : gpu.kind === "whole" ? MILLI_PER_GPU : 0;
  const count = gpu.kind === "share" ? 1 : gpu.kind === "whole" ? gpu.count : 0;
  return {
    source: r,
    cpu: r.cpu,
    memory: r.memory,
    gpuKind,
    milli,
    gpuMemory: gpu.kind === "share" ? gpu.memory : 0,
    count,
    totalMilli: milli * count,
    models: modelMask(r.gpuModels, ix),
    group: ix.groupId(r.group),
    tag: shapeTag(gpu),
  };
};

/** A mask over the cluster's model ids; undefined when any model will do. */
export const modelMask = (models: readonly string[] | undefined, ix: ClusterIndex): Uint8Array | undefined => {
  if (models === undefined || models.length === 0) return undefined;
  const mask = new Uint8Array(ix.modelIds.size);
  for (const m of models) {
    const id = ix.modelIds.get(m);
    if (id !== undefined) mask[id] = 1;
  }
  return mask;
};

/** GPU g may serve the request's model constraint. */
export const modelAllowed = (ix: ClusterIndex, g: number, models: Uint8Array | undefined): boolean =>
  models === undefined || models[ix.gpuModel[g]] === 1;

/** GPU g takes the request's group: it hosts no group, the same group, or the request has none. */
export const groupAccepts = (ix: ClusterIndex, g: number, group: number): boolean => {
  if (group < 0) return true;
  const hosted = ix.gpuGroup[g];
  return hosted < 0 || hosted === group;
};

/** GPU g can take the request's share now (model, group, free milli and memory). */
export const shareFitsGpu = (ix: ClusterIndex, g: number, r: CompiledRequest): boolean =>
  modelAllowed(ix, g, r.models) &&
  groupAccepts(ix, g, r.group) &&
  MILLI_PER_GPU - ix.gpuMilliUsed[g] >= r.milli &&
  ix.gpuMemCap[g] - ix.gpuMemUsed[g] >= r.gpuMemory;

/** GPU g is free for a whole-GPU request now: allowed model, nothing on it, no other group. */
export const wholeFitsGpu = (ix: ClusterIndex, g: number, r: CompiledRequest): boolean =>
  modelAllowed(ix, g, r.models) && groupAccepts(ix, g, r.group) && ix.gpuMilliUsed[g] === 0 && ix.gpuMemUsed[g] === 0;
