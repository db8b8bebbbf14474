// First fit: the first node (by index) that fits and its first GPU that fits. Deterministic.
import { frameworkPolicy } from "../framework.js";
import { firstFitGpu } from "../gpu-select.js";
import type { PlacementPolicy } from "../types.js";

export const FIRSTFIT_POLICY = "firstfit";

export const createFirstFitPolicy = (): PlacementPolicy => frameworkPolicy({ name: FIRSTFIT_POLICY, selectGpu: firstFitGpu, ties: "first" });
