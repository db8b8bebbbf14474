import type { DurationMs, EpochMs } from "../units.js";

// The `behavior` of a Kubernetes HorizontalPodAutoscaler (autoscaling/v2) and the rate limits
// it imposes, reproduced from pkg/controller/podautoscaler/horizontal.go
// (calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors,
// getReplicasChangePerPeriod, storeScaleEvent). Periods and windows are milliseconds here;
// Kubernetes writes them in seconds.

export type HpaScalingPolicyType = "Pods" | "Percent";

export interface HpaScalingPolicy {
  readonly type: HpaScalingPolicyType;
  /** Pods to add/remove, or percent of the replicas at the start of the period. */
  readonly value: number;
  readonly periodMs: DurationMs;
}

/** `Max` picks the policy allowing the largest change, `Min` the smallest; `Disabled` forbids scaling in that direction. */
export type HpaSelectPolicy = "Max" | "Min" | "Disabled";

export interface HpaScalingRules {
  readonly stabilizationWindowMs: DurationMs;
  readonly selectPolicy: HpaSelectPolicy;
  readonly policies: readonly HpaScalingPolicy[];
  /** Ratio band around 1.0 in this direction within which HPA keeps the replicas (cluster default 0.1). */
  readonly tolerance: number;
}

export interface HpaBehavior {
  readonly scaleUp: HpaScalingRules;
  readonly scaleDown: HpaScalingRules;
}

/** Kubernetes' documented defaults (GenerateHPAScaleUpRules / GenerateHPAScaleDownRules, `--horizontal-pod-autoscaler-tolerance`). */
export const defaultHpaBehavior: HpaBehavior = {
  scaleUp: {
    stabilizationWindowMs: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Pods", value: 4, periodMs: 15_000 },
      { type: "Percent", value: 100, periodMs: 15_000 },
    ],
    tolerance: 0.1,
  },
  scaleDown: {
    stabilizationWindowMs: 300_000,
    selectPolicy: "Max",
    policies: [{ type: "Percent", value: 100, periodMs: 15_000 }],
    tolerance: 0.1,
  },
};

/** `behavior` with the stabilization windows given (an operator's HPA `stabilizationWindowSeconds`); the rest kept. */
export const withStabilization = (
  behavior: HpaBehavior,
  windows: { readonly scaleUpMs?: DurationMs | undefined; readonly scaleDownMs?: DurationMs | undefined },
): HpaBehavior => ({
  scaleUp: windows.scaleUpMs === undefined ? behavior.scaleUp : { ...behavior.scaleUp, stabilizationWindowMs: windows.scaleUpMs },
  scaleDown: windows.scaleDownMs === undefined ? behavior.scaleDown : { ...behavior.scaleDown, stabilizationWindowMs: windows.scaleDownMs },
});

/**
 * Scale events as AutoscalerMemory stores them: `[time, delta]`, positive deltas for scale-ups,
 * negative for scale-downs (Kubernetes keeps two lists; the sign keeps them apart here).
 */
export type ScaleEvent = readonly [EpochMs, number];

/** Replicas added (`up`) or removed (`down`) by events strictly newer than `now - periodMs`. */
export const replicasChangedInPeriod = (events: readonly ScaleEvent[], direction: "up" | "down", periodMs: DurationMs, now: EpochMs): number => {
  const cutoff = now - periodMs;
  let changed = 0;
  for (const [at, delta] of events) {
    if (at <= cutoff) continue;
    if (direction === "up" && delta > 0) changed += delta;
    if (direction === "down" && delta < 0) changed -= delta;
  }
  return changed;
};

const periodStartReplicas = (current: number, events: readonly ScaleEvent[], periodMs: DurationMs, now: EpochMs): number =>
  current - replicasChangedInPeriod(events, "up", periodMs, now) + replicasChangedInPeriod(events, "down", periodMs, now);

/** The most replicas the scale-up rules allow now (may be below `current` while recent events are in the period). */
export const scaleUpLimit = (current: number, events: readonly ScaleEvent[], rules: HpaScalingRules, now: EpochMs): number => {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rules.selectPolicy === "Min" ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  for (const policy of rules.policies) {
    const start = periodStartReplicas(current, events, policy.periodMs, now);
    // Percent rounds up: otherwise a small replica count could never grow.
    const proposed = policy.type === "Pods" ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
};

/** The fewest replicas the scale-down rules allow now (may be above `current`). */
export const scaleDownLimit = (current: number, events: readonly ScaleEvent[], rules: HpaScalingRules, now: EpochMs): number => {
  if (rules.selectPolicy === "Disabled") return current;
  // For scaling down the largest change is the lowest count.
  const pick = rules.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rules.selectPolicy === "Min" ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const policy of rules.policies) {
    const start = periodStartReplicas(current, events, policy.periodMs, now);
    // Percent truncates the remaining count (Go's int32 conversion), i.e. rounds the removal up.
    const proposed = policy.type === "Pods" ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
};

const longestPeriod = (rules: HpaScalingRules): DurationMs => rules.policies.reduce((m, p) => Math.max(m, p.periodMs), 0);

/**
 * Records a rescale from `previous` to `next` as Kubernetes' storeScaleEvent does: an event of
 * the same direction older than that direction's longest policy period is overwritten (the last
 * such one), otherwise the event is appended. Kubernetes never deletes outdated events of the
 * other direction, so neither does this.
 */
export const recordScaleEvent = (events: readonly ScaleEvent[], behavior: HpaBehavior, previous: number, next: number, now: EpochMs): ScaleEvent[] => {
  const up = next > previous;
  const cutoff = now - longestPeriod(up ? behavior.scaleUp : behavior.scaleDown);
  const event: ScaleEvent = [now, next - previous];
  let outdated = -1;
  events.forEach(([at, delta], i) => {
    if ((up ? delta > 0 : delta < 0) && at < cutoff) outdated = i;
  });
  const copy = [...events];
  if (outdated >= 0) copy[outdated] = event;
  else copy.push(event);
  return copy;
};
