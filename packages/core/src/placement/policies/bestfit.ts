// BestFit (the FGD paper's baseline): the node left with the least free CPU and GPU; GPU by best
// fit; ties to the lowest node index (see paper-ties.ts).
import { frameworkPolicy, type TieBreak } from "../framework.js";
import { bestFitGpu } from "../gpu-select.js";
import { bestFitScorer } from "../scorers/best-fit.js";
import type { PlacementPolicy } from "../types.js";
import { PAPER_TIES } from "./paper-ties.js";

export const BESTFIT_POLICY = "bestfit";

export const createBestFitPolicy = (options: { readonly ties?: TieBreak } = {}): PlacementPolicy =>
  frameworkPolicy({ name: BESTFIT_POLICY, scorer: bestFitScorer(), selectGpu: bestFitGpu, ties: options.ties ?? PAPER_TIES });
