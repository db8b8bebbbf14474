import type { AutoscalingSpec } from "../spec/types.js";
import type { EpochMs } from "../units.js";

/** One observation of the lease's metric, per ready replica. */
export interface MetricSample {
  /** The metric averaged over ready replicas (e.g. mean queue time in ms). */
  readonly value: number;
  /** Replicas whose metric is known (HPA counts the others, still starting, as 0 on a scale-up and at the target on a scale-down). */
  readonly readyReplicas: number;
  // The fields below are optional observations of the same period, for policies that model
  // the load rather than react to one metric (Berth's). HPA reads only `value` and `readyReplicas`.
  /** Requests that arrived per second over the last period. */
  readonly arrivalRate?: number;
  /** Mean service time (ms) of the requests served in the last period (absent when none finished). */
  readonly meanServiceMs?: number;
  /** Requests waiting (not yet in service) at the end of the period, across the lease's replicas. */
  readonly queued?: number;
  /** Requests one ready replica serves at once (batch slots); 1 when absent. */
  readonly slotsPerReplica?: number;
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
