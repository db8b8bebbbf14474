// DotProd (the FGD paper's baseline, after Tetris): the dot-product scorer, which also picks the
// GPU; ties to the lowest node index (see paper-ties.ts).
import { frameworkPolicy, type TieBreak } from "../framework.js";
import { bestFitGpu } from "../gpu-select.js";
import { dotProductScorer } from "../scorers/dot-product.js";
import type { PlacementPolicy } from "../types.js";
import { PAPER_TIES } from "./paper-ties.js";

export const DOTPROD_POLICY = "dotprod";

export const createDotProdPolicy = (options: { readonly ties?: TieBreak } = {}): PlacementPolicy =>
  frameworkPolicy({ name: DOTPROD_POLICY, scorer: dotProductScorer(), selectGpu: bestFitGpu, ties: options.ties ?? PAPER_TIES });
