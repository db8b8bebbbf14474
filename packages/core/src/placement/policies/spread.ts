// Spread: the least allocated node (free CPU, memory and GPU fractions) and its freest GPU;
// ties at random. The opposite of packing: for latency, not for fragmentation.
import { frameworkPolicy } from "../framework.js";
import { worstFitGpu } from "../gpu-select.js";
import { leastAllocatedScorer } from "../scorers/least-allocated.js";
import type { PlacementPolicy } from "../types.js";

export const SPREAD_POLICY = "spread";

export const createSpreadPolicy = (): PlacementPolicy =>
  frameworkPolicy({ name: SPREAD_POLICY, scorer: leastAllocatedScorer(), selectGpu: worstFitGpu, ties: "random" });
