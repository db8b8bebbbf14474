import type { AutoscalingSpec } from "../spec/types.js";
import type { EpochMs } from "../units.js";

/** One observation of the lease's metric, per ready replica. */
export interface MetricSample {
  /** The metric averaged over ready replicas (e.g. mean queue time in ms). */
  readonly value: number;
  /** Replicas whose metric is known (HPA ignores not-yet-ready pods when scaling up). */
  readonly readyReplicas: number;
}

export interface AutoscalerInput {
  readonly now: EpochMs;
  readonly spec: AutoscalingSpec;
  readonly currentReplicas: number;
  /** Absent when the metric is missing: the autoscaler then keeps the current size. */
  readonly sample?: MetricSample;
}

/** Memory an autoscaler carries between calls (stabilization windows, recent scale events). Plain data, so it lives in snapshots. */
export interface AutoscalerMemory {
  /** Recent recommendations (time, replicas), newest last. */
  readonly recommendations: readonly (readonly [EpochMs, number])[];
  /** Recent scale events (time, delta replicas), newest last, for rate-limiting policies. */
  readonly scaleEvents: readonly (readonly [EpochMs, number])[];
  /** Policy-specific numbers (e.g. smoothed rates). */
  readonly extra?: Readonly<Record<string, number>>;
}

export const emptyAutoscalerMemory: AutoscalerMemory = { recommendations: [], scaleEvents: [] };

export interface AutoscalerResult {
  /** Always within [spec.minReplicas, spec.maxReplicas]. */
  readonly desired: number;
  readonly memory: AutoscalerMemory;
  /** Why, as data: e.g. `{ rule: "ScaleUpLimit", raw: 9, limited: 8 }`. */
  readonly reason: Readonly<Record<string, string | number>>;
}

export interface AutoscalerPolicy {
  readonly name: string;
  recommend(input: AutoscalerInput, memory: AutoscalerMemory): AutoscalerResult;
}
