import type { DurationMs, EpochMs } from "../units.js";
import { proposeReplicas } from "./hpa-replica-calculator.js";
import { replicasForWaitTarget } from "./queueing.js";
import type { AutoscalerInput, AutoscalerMemory, AutoscalerPolicy, AutoscalerResult } from "./types.js";

// Berth's autoscaler, for inference servers that take tens of seconds to start (image pull,
// weights into GPU memory) and whose SLO is queue time.
//
// Why not HPA's rule: HPA scales by the ratio metric/target. Queue time is ~0 until a fleet
// saturates and then grows without bound, so the ratio says nothing while there is still time
// to act and then overshoots; the scale-up rate limits (4 pods or 100% per 15 s) and a
// 45 s start-up add a minute of queueing to every burst; and the 5-minute scale-down window
// holds every burst's peak for five minutes.
//
// What Berth does instead, each sync (the same 15 s cadence and observations as HPA):
// 1. Model the load, not the symptom. From the observed arrival rate and mean service time it
//    estimates the offered load (busy batch slots) and sizes the fleet with the M/M/k (Erlang C)
//    formula so that P(queue time > target) <= `violationProbability`. Requests already waiting
//    add the slots needed to drain them within one start-up time.
// 2. Look ahead by the start-up time. Replicas ordered now serve only after `startupMs`, so the
//    scale-up estimate uses the larger of the last period's rate and a fast EWMA, extended by the
//    EWMA's upward trend over the start-up time. Scale-up is immediate and unlimited (up to max):
//    starting replicas already count in `currentReplicas`, so nothing is ordered twice.
// 3. Scale down conservatively, but not for five minutes: the scale-down estimate uses the larger
//    of the last rate and a slow EWMA, and the fleet shrinks only to the highest such estimate
//    over `scaleDownWindowMs` (4 min, shorter than HPA's 5), and only when that is at least
//    `scaleDownHysteresis` replicas below the current count, so small wobbles do not churn
//    replicas that took a minute to start.
// Without arrival rate or service time observations (another metric), it falls back to HPA's
// ratio proposal with the same immediate scale-up and windowed scale-down.
// Memory: EWMAs and the previous sample time in `extra`; scale-down estimates in `recommendations`.

export const BERTH_POLICY_NAME = "berth";

export const BerthReason = {
  ScaleUp: "ScaleUpForLoad",
  ScaleDown: "ScaleDownAfterWindow",
  Hold: "Hold",
  HoldForWindow: "HoldForScaleDownWindow",
  AboveMaxReplicas: "AboveMaxReplicas",
  BelowMinReplicas: "BelowMinReplicas",
  MissingMetric: "MissingMetric",
} as const;

export interface BerthOptions {
  /** Time from ordering a replica to its serving (pull, load); the look-ahead horizon. */
  readonly startupMs: DurationMs;
  /** Allowed probability that a request queues longer than the target. */
  readonly violationProbability: number;
  /** Scale down only to the highest estimate over this window. */
  readonly scaleDownWindowMs: DurationMs;
  /** Minimum size of a scale-down step, in replicas. */
  readonly scaleDownHysteresis: number;
  /** Time constants of the fast (scale-up) and slow (scale-down) arrival-rate EWMAs. */
  readonly fastRateTauMs: DurationMs;
  readonly slowRateTauMs: DurationMs;
  /** Time constant of the service-time EWMA. */
  readonly serviceTauMs: DurationMs;
  /** Cap on the trend extrapolation, as a multiple of the current estimate. */
  readonly maxTrendFactor: number;
}

export const defaultBerthOptions: BerthOptions = {
  startupMs: 45_000,
  violationProbability: 0.02,
  scaleDownWindowMs: 240_000,
  scaleDownHysteresis: 1,
  fastRateTauMs: 30_000,
  slowRateTauMs: 120_000,
  serviceTauMs: 120_000,
  maxTrendFactor: 2,
};

/** Sync period assumed when there is no previous sample to measure it from. */
const DEFAULT_PERIOD_MS = 15_000;

const ewma = (previous: number | undefined, value: number, dtMs: number, tauMs: number): number =>
  previous === undefined ? value : previous + (1 - Math.exp(-dtMs / tauMs)) * (value - previous);

interface Estimates {
  readonly up: number;
  readonly down: number;
  readonly extra: Readonly<Record<string, number>>;
  readonly detail: Readonly<Record<string, number>>;
}

/** Replicas needed now (for scaling up) and to keep (for scaling down), from the load model. */
const loadEstimates = (input: AutoscalerInput, memory: AutoscalerMemory, o: BerthOptions): Estimates | undefined => {
  const s = input.sample;
  if (s === undefined || s.arrivalRate === undefined || !Number.isFinite(s.arrivalRate)) return undefined;
  const prev = memory.extra ?? {};
  const lastAt = prev["lastAt"];
  const dt = lastAt === undefined ? DEFAULT_PERIOD_MS : Math.max(1, input.now - lastAt);
  const rate = Math.max(0, s.arrivalRate);
  const fast = ewma(prev["rateFast"], rate, dt, o.fastRateTauMs);
  const slow = ewma(prev["rateSlow"], rate, dt, o.slowRateTauMs);
  const observedService = s.meanServiceMs !== undefined && s.meanServiceMs > 0 ? s.meanServiceMs : undefined;
  const service = observedService === undefined ? prev["serviceMs"] : ewma(prev["serviceMs"], observedService, dt, o.serviceTauMs);
  const extra: Record<string, number> = { lastAt: input.now, rateFast: fast, rateSlow: slow };
  if (service !== undefined) extra["serviceMs"] = service;
  if (service === undefined) return undefined;

  const slots = Math.max(1, s.slotsPerReplica ?? 1);
  const serviceS = service / 1000;
  // Trend of the fast EWMA, extrapolated over the start-up time, capped.
  const slopePerMs = prev["rateFast"] === undefined ? 0 : (fast - prev["rateFast"]) / dt;
  const base = Math.max(rate, fast);
  const ahead = Math.min(base * o.maxTrendFactor, base + Math.max(0, slopePerMs) * o.startupMs);
  // Waiting requests: the slots that would drain them within one start-up time.
  const backlog = ((s.queued ?? 0) * service) / o.startupMs;
  const cap = Math.max(input.spec.maxReplicas, input.spec.minReplicas) + 1;
  const size = (ratePerS: number): number =>
    replicasForWaitTarget(ratePerS * serviceS + backlog, slots, service, input.spec.target, o.violationProbability, cap);
  return {
    up: size(ahead),
    down: size(Math.max(rate, slow)),
    extra,
    detail: { rate, rateFast: fast, rateSlow: slow, serviceMs: service, ahead, backlog },
  };
};

export const berthRecommend = (input: AutoscalerInput, memory: AutoscalerMemory, o: BerthOptions = defaultBerthOptions): AutoscalerResult => {
  const { now, spec, currentReplicas: current } = input;
  const min = spec.minReplicas;
  const max = Math.max(spec.minReplicas, spec.maxReplicas);
  const clamp = (n: number): number => Math.min(max, Math.max(min, n));

  const model = loadEstimates(input, memory, o);
  let up: number;
  let down: number;
  let extra = memory.extra;
  let detail: Readonly<Record<string, number>> = {};
  if (model !== undefined) {
    ({ up, down, extra, detail } = model);
  } else {
    // No load observations: HPA's proposal (without its tolerance band) for both directions.
    const p = proposeReplicas(current, input.sample, spec.target, { scaleUp: 0, scaleDown: 0 });
    if (p.kind === "missing") {
      const kept = clamp(current);
      return {
        desired: kept,
        memory: { ...memory, extra: memory.extra },
        reason: { rule: kept === current ? BerthReason.MissingMetric : current > max ? BerthReason.AboveMaxReplicas : BerthReason.BelowMinReplicas },
      };
    }
    up = p.replicas;
    down = p.replicas;
  }
  up = clamp(up);
  down = clamp(down);

  const windowStart = now - o.scaleDownWindowMs;
  const recommendations = [...memory.recommendations.filter(([at]) => at > windowStart), [now, down] as const];
  const held = recommendations.reduce((m, [, r]) => Math.max(m, r), up);

  let desired: number;
  let rule: string;
  if (current > max) [desired, rule] = [max, BerthReason.AboveMaxReplicas];
  else if (current < min) [desired, rule] = [Math.max(min, up), BerthReason.BelowMinReplicas];
  else if (up > current) [desired, rule] = [up, BerthReason.ScaleUp];
  else if (held <= current - o.scaleDownHysteresis) [desired, rule] = [held, BerthReason.ScaleDown];
  else [desired, rule] = [current, held < current ? BerthReason.HoldForWindow : BerthReason.Hold];
  desired = clamp(desired);

  return {
    desired,
    memory: { recommendations, scaleEvents: desired === current ? memory.scaleEvents : [...memory.scaleEvents.slice(-15), [now as EpochMs, desired - current]], extra },
    reason: { rule, up, down, held, ...detail },
  };
};

export const berthPolicy = (options: Partial<BerthOptions> = {}): AutoscalerPolicy => {
  const o = { ...defaultBerthOptions, ...options };
  return { name: BERTH_POLICY_NAME, recommend: (input, memory) => berthRecommend(input, memory, o) };
};
