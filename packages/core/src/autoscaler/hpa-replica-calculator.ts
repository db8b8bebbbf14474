import type { MetricSample } from "./types.js";

// The replica count Kubernetes proposes for a Pods metric with an AverageValue target
// (calcPlainMetricReplicas in pkg/controller/podautoscaler/replica_calculator.go).
// Berth's replicas map onto its pod groups: ready replicas report the metric; a replica still
// starting is a Running pod whose metric is not there yet, which Kubernetes calls "missing"
// (groupPods: for Pods metrics only Pending pods are left out, and nothing is "unready"):
// on a scale-up it counts as reporting 0, so that capacity already on its way is not ordered
// twice, and on a scale-down as reporting exactly the target, so that a dip on the replicas
// that serve does not remove the ones about to help before they have served.
// Kubernetes averages integer milli-values; this averages floats (the difference is below one
// thousandth of the metric's unit).

export interface Tolerances {
  readonly scaleUp: number;
  readonly scaleDown: number;
}

/** Kubernetes' tolerances.isWithin: no change while 1 - down <= ratio <= 1 + up. */
export const isWithinTolerance = (ratio: number, t: Tolerances): boolean => 1.0 - t.scaleDown <= ratio && ratio <= 1.0 + t.scaleUp;

export type ReplicaProposal =
  | { readonly kind: "proposal"; readonly replicas: number; readonly usageRatio: number; readonly withinTolerance: boolean }
  /** No ready replica reported: Kubernetes fails the metric and leaves the scale alone. */
  | { readonly kind: "missing" };

export const proposeReplicas = (current: number, sample: MetricSample | undefined, target: number, t: Tolerances): ReplicaProposal => {
  if (sample === undefined || !Number.isFinite(sample.value) || sample.readyReplicas <= 0 || !(target > 0)) return { kind: "missing" };
  const ready = sample.readyReplicas;
  const starting = Math.max(0, current - ready);
  const usageRatio = sample.value / target;
  // Within tolerance nothing changes. (Kubernetes skips this check when pods are missing; that
  // matters only at a ratio of exactly 1, where it would count them as 0 and scale down.)
  if (isWithinTolerance(usageRatio, t)) return { kind: "proposal", replicas: current, usageRatio, withinTolerance: true };
  if (starting === 0) return { kind: "proposal", replicas: Math.ceil(usageRatio * ready), usageRatio, withinTolerance: false };
  // Starting replicas: 0 on a scale-up, the target on a scale-down; the average over all of them.
  const assumed = usageRatio < 1.0 ? target : 0;
  const counted = ready + starting;
  const newUsageRatio = (sample.value * ready + assumed * starting) / counted / target;
  const reversed = (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0);
  if (isWithinTolerance(newUsageRatio, t) || reversed) {
    // Too small a change, or the rebalanced ratio would reverse the direction.
    return { kind: "proposal", replicas: current, usageRatio: newUsageRatio, withinTolerance: true };
  }
  const replicas = Math.ceil(newUsageRatio * counted);
  // Kubernetes' last guard: a proposal against the direction of the ratio keeps the scale.
  if ((newUsageRatio < 1.0 && replicas > current) || (newUsageRatio > 1.0 && replicas < current)) {
    return { kind: "proposal", replicas: current, usageRatio: newUsageRatio, withinTolerance: true };
  }
  return { kind: "proposal", replicas, usageRatio: newUsageRatio, withinTolerance: false };
};
