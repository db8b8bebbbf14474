// FGD (Weng et al., ATC'23): the node and GPU that least grow fragmentation against the target
// workload; ties to the lowest node index (see paper-ties.ts).
import { frameworkPolicy, type TieBreak } from "../framework.js";
import { bestFitGpu } from "../gpu-select.js";
import { fgdScorer } from "../scorers/fgd.js";
import type { PlacementPolicy } from "../types.js";
import { PAPER_TIES } from "./paper-ties.js";
import type { TargetWorkload } from "../workload.js";

export const FGD_POLICY = "fgd";

export interface FgdOptions {
  /** The target workload (see targetWorkloadFromRequests): FGD cannot score without it. */
  readonly workload: TargetWorkload;
  readonly ties?: TieBreak;
}

export const createFgdPolicy = (options: FgdOptions): PlacementPolicy =>
  frameworkPolicy({ name: FGD_POLICY, scorer: fgdScorer(options.workload), selectGpu: bestFitGpu, ties: options.ties ?? PAPER_TIES });
