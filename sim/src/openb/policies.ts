// The experiment's policies come from packages/core's registry; the sim only decides what
// target workload they look ahead at: the trace's own pod types, as FGD's artifact does.
import { createPolicy, isPolicyName, POLICY_NAMES, type PolicyName } from "@berth/core/placement/registry";
import type { PlacementPolicy, PlacementRequest } from "@berth/core/placement/types";
import { targetWorkloadFromRequests, type TargetWorkload, type WorkloadType } from "@berth/core/placement/workload";

/** The paper's six baselines and Berth's policy, in the paper's order. */
export const DEFAULT_PACKING_POLICIES: readonly PolicyName[] = ["random", "dotprod", "gpuclustering", "gpupacking", "bestfit", "fgd", "berth"];

export const KNOWN_POLICIES: readonly string[] = POLICY_NAMES;

export const knownPolicy = (name: string): name is PolicyName => isPolicyName(name);

export interface PolicyWorkloads {
  /** FGD's typical pods: the most popular types covering 95% of pods. */
  readonly typical: TargetWorkload;
  /** Every distinct request of the trace, memory included: what Berth's policy looks ahead at. */
  readonly all: TargetWorkload;
}

/**
 * Every distinct request (CPU, memory, GPU demand, models) with its share of the pods. Unlike
 * FGD's typical pods it keeps memory apart, so the forecast sees GPUs stranded by memory.
 */
export const fullWorkload = (requests: readonly PlacementRequest[]): TargetWorkload => {
  const types = new Map<string, { type: WorkloadType; pods: number }>();
  for (const r of requests) {
    const g = r.gpu;
    const key = `${r.cpu}|${r.memory}|${g.kind === "share" ? `s${g.milli}/${g.memory}` : g.kind === "whole" ? `w${g.count}` : "n"}|${r.gpuModels?.join("|") ?? ""}`;
    const t = types.get(key);
    if (t !== undefined) t.pods += 1;
    else types.set(key, { type: { cpu: r.cpu, memory: r.memory, gpu: g, ...(r.gpuModels === undefined ? {} : { gpuModels: r.gpuModels }), weight: 0 }, pods: 1 });
  }
  return { types: [...types.values()].map(({ type, pods }) => ({ ...type, weight: pods / requests.length })) };
};

export const policyWorkloads = (requests: readonly PlacementRequest[]): PolicyWorkloads => ({
  typical: targetWorkloadFromRequests(requests, { popularityThreshold: 95, increaseStep: 1, includeCpuOnly: true }),
  all: fullWorkload(requests),
});

export const createPackingPolicy = (name: string, workloads: PolicyWorkloads): PlacementPolicy => {
  if (!isPolicyName(name)) throw new Error(`unknown policy ${JSON.stringify(name)}; known: ${POLICY_NAMES.join(", ")}`);
  return createPolicy(name, { workload: name === "berth" ? workloads.all : workloads.typical });
};
