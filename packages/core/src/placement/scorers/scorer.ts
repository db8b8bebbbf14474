// The Score extension point: how good is this node for the request (higher is better)? A scorer
// that knows which GPU it scored (FGD, DotProd) writes it into `pick.gpu` for share requests;
// otherwise the policy's GPU selector decides. Scorers run only on nodes that passed the filters.
import type { ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";

export interface GpuPick {
  /** Flat GPU index for a share request; -1 lets the policy's GPU selector choose. */
  gpu: number;
}

export interface NodeScorer {
  readonly name: string;
  score(ix: ClusterIndex, node: number, request: CompiledRequest, pick: GpuPick): number;
}

/** kube-scheduler's score range. */
export const MAX_NODE_SCORE = 100;
/** The simulator's normalisation constants (largest node in its clusters). */
export const MAX_SPEC_CPU = 128000;
export const MAX_SPEC_GPU = 8000;

export const totalGpuFree = (ix: ClusterIndex, node: number): number => {
  let free = 0;
  for (let g = ix.gpuStart[node]; g < ix.gpuStart[node + 1]; g++) free += 1000 - ix.gpuMilliUsed[g];
  return free;
};
