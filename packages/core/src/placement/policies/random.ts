// Random (the FGD paper's baseline): a node drawn uniformly among those that fit; the GPU by
// best fit, the simulator's default GPU selection.
import { frameworkPolicy } from "../framework.js";
import { bestFitGpu } from "../gpu-select.js";
import type { PlacementPolicy } from "../types.js";

export const RANDOM_POLICY = "random";

export const createRandomPolicy = (): PlacementPolicy => frameworkPolicy({ name: RANDOM_POLICY, selectGpu: bestFitGpu, ties: "random" });
