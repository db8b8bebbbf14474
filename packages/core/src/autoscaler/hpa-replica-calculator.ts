import type { MetricSample } from "./types.js";

// The replica count Kubernetes proposes for a Pods metric with an AverageValue target
// (calcPlainMetricReplicas in pkg/controller/podautoscaler/replica_calculator.go).
// Berth's replicas map onto its pod groups: ready replicas report the metric; replicas still
// starting are Pending pods ("unready"), which HPA leaves out of the average and, on a
// scale-up, counts as reporting zero so that capacity already on its way is not ordered twice.
// Berth has no "missing" pods (running without a metric): a replica reports once it is ready.
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
  const unready = Math.max(0, current - ready);
  const usageRatio = sample.value / target;
  const scaleUpWithUnready = unready > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready) {
    if (isWithinTolerance(usageRatio, t)) return { kind: "proposal", replicas: current, usageRatio, withinTolerance: true };
    return { kind: "proposal", replicas: Math.ceil(usageRatio * ready), usageRatio, withinTolerance: false };
  }
  // Unready replicas count as reporting 0: the average over all of them.
  const counted = ready + unready;
  const newUsageRatio = (sample.value * ready) / counted / target;
  if (isWithinTolerance(newUsageRatio, t) || newUsageRatio < 1.0) {
    // Too small a change, or the rebalanced ratio would reverse the direction.
    return { kind: "proposal", replicas: current, usageRatio: newUsageRatio, withinTolerance: true };
  }
  return { kind: "proposal", replicas: Math.ceil(newUsageRatio * counted), usageRatio: newUsageRatio, withinTolerance: false };
};
