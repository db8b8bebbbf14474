// GpuClustering (the FGD paper's baseline, simulator's GpuClusteringScore): keep requests of
// one GPU shape together. Bands, best first: nodes hosting only this shape, nodes hosting it
// among others, idle nodes, nodes hosting other shapes; within a band, the less free GPU the
// better. Integer arithmetic as in the simulator.
import type { ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";
import { MAX_NODE_SCORE, MAX_SPEC_GPU, totalGpuFree, type NodeScorer } from "./scorer.js";

export const GPU_CLUSTERING_SCORE = "GpuClusteringScore";

export const gpuClusteringScore = (ix: ClusterIndex, node: number, r: CompiledRequest): number => {
  if (r.tag === undefined) return 0;
  const band = Math.trunc(((MAX_NODE_SCORE / 4) * (MAX_SPEC_GPU - totalGpuFree(ix, node))) / MAX_SPEC_GPU);
  const kinds = ix.shapeKinds[node];
  if ((ix.shapes[node][r.tag] ?? 0) > 0) return band + (kinds === 1 ? (MAX_NODE_SCORE * 3) / 4 : (MAX_NODE_SCORE * 2) / 4);
  return band + (kinds === 0 ? MAX_NODE_SCORE / 4 : 0);
};

export const gpuClusteringScorer = (): NodeScorer => ({ name: GPU_CLUSTERING_SCORE, score: gpuClusteringScore });
