import type { EpochMs } from "../units.js";
import {
  defaultHpaBehavior,
  recordScaleEvent,
  scaleDownLimit,
  scaleUpLimit,
  type HpaBehavior,
  type ScaleEvent,
} from "./hpa-behavior.js";
import { proposeReplicas } from "./hpa-replica-calculator.js";
import type { AutoscalerInput, AutoscalerMemory, AutoscalerPolicy, AutoscalerResult } from "./types.js";

// The Kubernetes HorizontalPodAutoscaler controller's decision for one sync, reproduced from
// pkg/controller/podautoscaler/horizontal.go (reconcileAutoscaler,
// normalizeDesiredReplicasWithBehaviors, stabilizeRecommendationWithBehaviors,
// convertDesiredReplicasWithBehaviorRate) with the proposal of replica_calculator.go.
// Kubernetes keeps recommendations and scale events in the controller's maps; here they live in
// AutoscalerMemory, so the function is pure. The controller syncs every 15 s
// (`--horizontal-pod-autoscaler-sync-period`): calling `recommend` on that cadence is the
// caller's concern, as is acting on `desired`.
//
// One departure: Kubernetes treats a target scaled to 0 with minReplicas > 0 as "autoscaling
// disabled" and does nothing; in Berth 0 replicas has no such meaning, so it is raised to min.

export const HPA_POLICY_NAME = "hpa";

export const HpaReason = {
  AboveMaxReplicas: "AboveMaxReplicas",
  BelowMinReplicas: "BelowMinReplicas",
  MissingMetric: "MissingMetric",
  DesiredWithinRange: "DesiredWithinRange",
  ScaleUpLimit: "ScaleUpLimit",
  ScaleDownLimit: "ScaleDownLimit",
  TooManyReplicas: "TooManyReplicas",
  TooFewReplicas: "TooFewReplicas",
} as const;

type Recommendation = readonly [EpochMs, number];

/**
 * Stabilization (both directions at once, as Kubernetes does since 1.23): the recommendation is
 * the current count brought within [min of recent recommendations over the scale-up window,
 * max over the scale-down window]. The unstabilized proposal is recorded, overwriting the last
 * sample older than both windows.
 */
export const stabilize = (
  recommendations: readonly Recommendation[],
  behavior: HpaBehavior,
  current: number,
  proposed: number,
  now: EpochMs,
): { readonly replicas: number; readonly recommendations: Recommendation[] } => {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowMs;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowMs;
  let up = proposed;
  let down = proposed;
  let old = -1;
  recommendations.forEach(([at, replicas], i) => {
    if (at > upCutoff) up = Math.min(up, replicas);
    if (at > downCutoff) down = Math.max(down, replicas);
    if (at < upCutoff && at < downCutoff) old = i;
  });
  let replicas = current;
  if (replicas < up) replicas = up;
  if (replicas > down) replicas = down;
  const next = [...recommendations];
  if (old >= 0) next[old] = [now, proposed];
  else next.push([now, proposed]);
  return { replicas, recommendations: next };
};

/** The rate limits of `behavior` and the [min, max] bounds applied to a stabilized recommendation. */
export const limitRate = (
  current: number,
  desired: number,
  events: readonly ScaleEvent[],
  behavior: HpaBehavior,
  minReplicas: number,
  maxReplicas: number,
  now: EpochMs,
): { readonly replicas: number; readonly rule: string } => {
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, events, behavior.scaleUp, now));
    const allowed = Math.min(maxReplicas, limit);
    const rule = maxReplicas > limit ? HpaReason.ScaleUpLimit : HpaReason.TooManyReplicas;
    if (desired > allowed) return { replicas: allowed, rule };
  } else if (desired < current) {
    const limit = Math.min(current, scaleDownLimit(current, events, behavior.scaleDown, now));
    const allowed = Math.max(minReplicas, limit);
    const rule = minReplicas < limit ? HpaReason.ScaleDownLimit : HpaReason.TooFewReplicas;
    if (desired < allowed) return { replicas: allowed, rule };
  }
  return { replicas: desired, rule: HpaReason.DesiredWithinRange };
};

export const hpaRecommend = (input: AutoscalerInput, memory: AutoscalerMemory, behavior: HpaBehavior = defaultHpaBehavior): AutoscalerResult => {
  const { now, spec, currentReplicas: current } = input;
  const min = spec.minReplicas;
  const max = Math.max(spec.minReplicas, spec.maxReplicas);
  // recordInitialRecommendation: the count found at the first sync counts as a recommendation.
  const recommendations: readonly Recommendation[] = memory.recommendations.length === 0 ? [[now, current]] : memory.recommendations;

  const finish = (desired: number, next: readonly Recommendation[], reason: AutoscalerResult["reason"]): AutoscalerResult => ({
    desired,
    memory: {
      ...memory,
      recommendations: next,
      scaleEvents: desired === current ? memory.scaleEvents : recordScaleEvent(memory.scaleEvents, behavior, current, desired, now),
    },
    reason,
  });

  if (current > max) return finish(max, recommendations, { rule: HpaReason.AboveMaxReplicas, current });
  if (current < min) return finish(min, recommendations, { rule: HpaReason.BelowMinReplicas, current });

  const proposal = proposeReplicas(current, input.sample, spec.target, {
    scaleUp: behavior.scaleUp.tolerance,
    scaleDown: behavior.scaleDown.tolerance,
  });
  // A failed metric stops the sync before normalization: nothing is recorded, the scale stays.
  if (proposal.kind === "missing") return finish(current, recommendations, { rule: HpaReason.MissingMetric });

  const stabilized = stabilize(recommendations, behavior, current, proposal.replicas, now);
  const limited = limitRate(current, stabilized.replicas, memory.scaleEvents, behavior, min, max, now);
  return finish(limited.replicas, stabilized.recommendations, {
    rule: limited.rule,
    usageRatio: proposal.usageRatio,
    proposed: proposal.replicas,
    stabilized: stabilized.replicas,
    desired: limited.replicas,
  });
};

export interface HpaOptions {
  readonly behavior?: HpaBehavior;
}

export const hpaPolicy = (options: HpaOptions = {}): AutoscalerPolicy => {
  const behavior = options.behavior ?? defaultHpaBehavior;
  return { name: HPA_POLICY_NAME, recommend: (input, memory) => hpaRecommend(input, memory, behavior) };
};
