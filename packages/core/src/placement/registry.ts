// Placement policies by name. Every factory takes the same options; the target workload is what
// FGD and Berth's policy look ahead at (build it with targetWorkloadFromRequests).
import { MILLI_PER_GPU } from "../units.js";
import { BERTH_POLICY, createBerthPolicy, type WorkloadShape } from "./policies/berth.js";
import { BESTFIT_POLICY, createBestFitPolicy } from "./policies/bestfit.js";
import { createDotProdPolicy, DOTPROD_POLICY } from "./policies/dotprod.js";
import { createFgdPolicy, FGD_POLICY } from "./policies/fgd.js";
import { createFirstFitPolicy, FIRSTFIT_POLICY } from "./policies/firstfit.js";
import { createGpuClusteringPolicy, GPUCLUSTERING_POLICY } from "./policies/gpuclustering.js";
import { createGpuPackingPolicy, GPUPACKING_POLICY } from "./policies/gpupacking.js";
import { createRandomPolicy, RANDOM_POLICY } from "./policies/random.js";
import { createSpreadPolicy, SPREAD_POLICY } from "./policies/spread.js";
import type { TieBreak } from "./framework.js";
import type { PlacementPolicy } from "./types.js";
import type { TargetWorkload } from "./workload.js";

export interface PolicyOptions {
  /** The target workload; required by `fgd`, used by `berth`. */
  readonly workload?: TargetWorkload;
  /** Tie-break between equally scored nodes for the paper's scored policies (default "first"). */
  readonly ties?: TieBreak;
}

export type PolicyFactory = (options?: PolicyOptions) => PlacementPolicy;

export class MissingWorkloadError extends Error {
  override readonly name = "MissingWorkloadError";
}

/** Berth's policy takes the workload as flat shapes. */
export const workloadShapes = (w: TargetWorkload): WorkloadShape[] =>
  w.types.map((t) => ({
    cpu: t.cpu,
    memory: t.memory,
    gpuMilli: t.gpu.kind === "share" ? t.gpu.milli : t.gpu.kind === "whole" ? MILLI_PER_GPU : 0,
    gpuCount: t.gpu.kind === "share" ? 1 : t.gpu.kind === "whole" ? t.gpu.count : 0,
    ...(t.gpuModels === undefined ? {} : { gpuModels: t.gpuModels }),
    weight: t.weight,
  }));

const tiesOf = (o: PolicyOptions | undefined): { ties?: TieBreak } => (o?.ties === undefined ? {} : { ties: o.ties });

export const POLICY_NAMES = [
  RANDOM_POLICY,
  DOTPROD_POLICY,
  GPUCLUSTERING_POLICY,
  GPUPACKING_POLICY,
  BESTFIT_POLICY,
  FGD_POLICY,
  FIRSTFIT_POLICY,
  SPREAD_POLICY,
  BERTH_POLICY,
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const policyRegistry: Readonly<Record<PolicyName, PolicyFactory>> = {
  [RANDOM_POLICY]: () => createRandomPolicy(),
  [DOTPROD_POLICY]: (options) => createDotProdPolicy(tiesOf(options)),
  [GPUCLUSTERING_POLICY]: (options) => createGpuClusteringPolicy(tiesOf(options)),
  [GPUPACKING_POLICY]: (options) => createGpuPackingPolicy(tiesOf(options)),
  [BESTFIT_POLICY]: (options) => createBestFitPolicy(tiesOf(options)),
  [FGD_POLICY]: (options) => {
    if (options?.workload === undefined) throw new MissingWorkloadError("the fgd policy needs a target workload (targetWorkloadFromRequests)");
    return createFgdPolicy({ workload: options.workload, ...tiesOf(options) });
  },
  [FIRSTFIT_POLICY]: () => createFirstFitPolicy(),
  [SPREAD_POLICY]: () => createSpreadPolicy(),
  [BERTH_POLICY]: (options) => createBerthPolicy(options?.workload === undefined ? {} : { workload: workloadShapes(options.workload) }),
};

export const isPolicyName = (name: string): name is PolicyName => (POLICY_NAMES as readonly string[]).includes(name);

/** A fresh policy by name (policies keep per-run caches, so one per run). */
export const createPolicy = (name: PolicyName, options?: PolicyOptions): PlacementPolicy => policyRegistry[name](options);
