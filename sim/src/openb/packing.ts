// One run of the packing experiment: a policy places an arrival sequence on an empty cluster
// (packages/core's ClusterState, which checks every assignment), nothing departs, and after
// every arrival the allocation ratio is sampled.
import type { ClusterNode } from "@berth/core/cluster/types";
import { ClusterState } from "@berth/core/placement/cluster-state";
import type { PlacementPolicy } from "@berth/core/placement/types";
import type { Rng } from "@berth/core/random/rng";
import { discretiseCurve, type AllocationSample } from "./curve.js";
import { podGpuMilli, toPlacementRequest, type OpenbPod } from "./trace.js";

export interface PackingRun {
  readonly policy: string;
  readonly samples: AllocationSample[];
  /** Allocation ratio (percent) at 0..130 percent arrived. */
  readonly curve: number[];
  readonly placed: number;
  /** Pods no node could take: skipped, their request still counts as arrived. */
  readonly failed: number;
  /** Seconds spent inside `place` (0 without a clock). */
  readonly placeSeconds: number;
}

export interface PackingOptions {
  /** Milliseconds clock for timing `place` (the harness passes performance.now). */
  readonly now?: () => number;
}

export const runPacking = (
  nodes: readonly ClusterNode[],
  sequence: readonly OpenbPod[],
  policy: PlacementPolicy,
  rng: Rng,
  options: PackingOptions = {},
): PackingRun => {
  const cluster = new ClusterState(nodes);
  const capacity = cluster.capacityGpuMilli;
  const samples: AllocationSample[] = [];
  const now = options.now;
  let arrived = 0;
  let placed = 0;
  let failed = 0;
  let spent = 0;
  sequence.forEach((pod, i) => {
    const request = toPlacementRequest(pod, `${i}:${pod.name}`);
    arrived += podGpuMilli(pod);
    const t0 = now?.() ?? 0;
    const decision = policy.place(request, cluster, rng);
    if (now !== undefined) spent += now() - t0;
    if (decision.chosen === undefined) {
      failed += 1;
    } else {
      cluster.assign(request, decision.chosen);
      placed += 1;
    }
    samples.push({ arrived: (100 * arrived) / capacity, allocated: (100 * cluster.allocatedGpuMilli) / capacity });
  });
  return { policy: policy.name, samples, curve: discretiseCurve(samples), placed, failed, placeSeconds: spent / 1000 };
};
