// GpuClustering (the FGD paper's baseline): requests of one GPU shape packed together; GPU by
// best fit; ties to the lowest node index (see paper-ties.ts).
import { frameworkPolicy, type TieBreak } from "../framework.js";
import { bestFitGpu } from "../gpu-select.js";
import { gpuClusteringScorer } from "../scorers/gpu-clustering.js";
import type { PlacementPolicy } from "../types.js";
import { PAPER_TIES } from "./paper-ties.js";

export const GPUCLUSTERING_POLICY = "gpuclustering";

export const createGpuClusteringPolicy = (options: { readonly ties?: TieBreak } = {}): PlacementPolicy =>
  frameworkPolicy({ name: GPUCLUSTERING_POLICY, scorer: gpuClusteringScorer(), selectGpu: bestFitGpu, ties: options.ties ?? PAPER_TIES });
