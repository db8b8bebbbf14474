// GpuPacking (the FGD paper's baseline): shared GPUs first, then free GPUs of used nodes, then
// free nodes; GPU by best fit; ties to the lowest node index (see paper-ties.ts).
import { frameworkPolicy, type TieBreak } from "../framework.js";
import { bestFitGpu } from "../gpu-select.js";
import { gpuPackingScorer } from "../scorers/gpu-packing.js";
import type { PlacementPolicy } from "../types.js";
import { PAPER_TIES } from "./paper-ties.js";

export const GPUPACKING_POLICY = "gpupacking";

export const createGpuPackingPolicy = (options: { readonly ties?: TieBreak } = {}): PlacementPolicy =>
  frameworkPolicy({ name: GPUPACKING_POLICY, scorer: gpuPackingScorer(), selectGpu: bestFitGpu, ties: options.ties ?? PAPER_TIES });
