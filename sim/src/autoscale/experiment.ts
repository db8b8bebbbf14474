import { berthPolicy } from "@berth/core/autoscaler/berth";
import { hpaPolicy } from "@berth/core/autoscaler/hpa";
import type { AutoscalerPolicy } from "@berth/core/autoscaler/types";
import { replicaPickers, type ReplicaPickerName } from "@berth/core/picker/registry";
import type { AutoscalerPolicyName } from "@berth/core/spec/types";
import type { LlmRequest } from "./azure-trace.js";
import { simulateFleet, type FleetResult, type FleetTick } from "./fleet.js";
import { defaultServiceModel, serviceMs, type ServiceModel } from "./service-model.js";

// The autoscaling experiment: the same trace, fleet and observations for each policy and seed;
// only the autoscaler differs. Seeds drive the power-of-two picker.

export interface AutoscaleSettings {
  readonly policies: readonly AutoscalerPolicyName[];
  readonly seeds: readonly number[];
  readonly startupMs: number;
  readonly sloMs: number;
  readonly periodMs: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly picker: ReplicaPickerName;
  readonly service: ServiceModel;
}

export const defaultAutoscaleSettings: AutoscaleSettings = {
  policies: ["hpa", "berth"],
  seeds: [42, 43, 44, 45, 46],
  startupMs: 45_000,
  sloMs: 2_000,
  periodMs: 15_000,
  minReplicas: 1,
  maxReplicas: 30,
  picker: "power-of-two",
  service: defaultServiceModel,
};

export interface RunSummary {
  readonly policy: AutoscalerPolicyName;
  readonly seed: number;
  readonly requests: number;
  readonly violations: number;
  readonly violationPct: number;
  readonly replicaSeconds: number;
  readonly p50QueueMs: number;
  readonly p99QueueMs: number;
  readonly meanReplicas: number;
  readonly maxReplicas: number;
  readonly scaleUps: number;
  readonly scaleDowns: number;
}

export interface PolicySummary {
  readonly policy: AutoscalerPolicyName;
  readonly runs: number;
  readonly violations: number;
  readonly violationPct: number;
  readonly replicaSeconds: number;
  readonly p50QueueMs: number;
  readonly p99QueueMs: number;
  readonly meanReplicas: number;
  readonly scaleUps: number;
  readonly scaleDowns: number;
}

export interface AutoscaleReport {
  readonly settings: AutoscaleSettings;
  readonly runs: readonly RunSummary[];
  readonly summary: readonly PolicySummary[];
  /** Per policy, the first seed's time series (for charts). */
  readonly series: Readonly<Record<string, readonly FleetTick[]>>;
}

export const quantile = (sorted: Float64Array | readonly number[], q: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
};

const makePolicy = (name: AutoscalerPolicyName, s: AutoscaleSettings): AutoscalerPolicy =>
  // HPA runs with Kubernetes' defaults; Berth is told the start-up time it must look ahead by.
  name === "hpa" ? hpaPolicy() : berthPolicy({ startupMs: s.startupMs });

const summarise = (policy: AutoscalerPolicyName, seed: number, r: FleetResult): RunSummary => {
  const sorted = Float64Array.from(r.queueMs).sort();
  const meanReplicas = r.endMs > 0 ? r.replicaSeconds / (r.endMs / 1000) : 0;
  return {
    policy,
    seed,
    requests: r.requests,
    violations: r.violations,
    violationPct: (100 * r.violations) / Math.max(1, r.requests),
    replicaSeconds: r.replicaSeconds,
    p50QueueMs: quantile(sorted, 0.5),
    p99QueueMs: quantile(sorted, 0.99),
    meanReplicas,
    maxReplicas: r.ticks.reduce((m, t) => Math.max(m, t.replicas), 0),
    scaleUps: r.scaleUps,
    scaleDowns: r.scaleDowns,
  };
};

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export const runAutoscaleExperiment = (trace: readonly LlmRequest[], s: AutoscaleSettings = defaultAutoscaleSettings): AutoscaleReport => {
  const requests = trace.map((r) => ({ atMs: r.atMs, serviceMs: serviceMs(s.service, r) }));
  const runs: RunSummary[] = [];
  const series: Record<string, readonly FleetTick[]> = {};
  for (const policy of s.policies) {
    for (const seed of s.seeds) {
      const result = simulateFleet({
        requests,
        policy: makePolicy(policy, s),
        spec: { metric: "queue_time", target: s.sloMs, minReplicas: s.minReplicas, maxReplicas: s.maxReplicas, policy },
        picker: replicaPickers[s.picker](),
        seed,
        startupMs: s.startupMs,
        slotsPerReplica: s.service.slotsPerReplica,
        periodMs: s.periodMs,
        sloMs: s.sloMs,
      });
      runs.push(summarise(policy, seed, result));
      if (series[policy] === undefined) series[policy] = result.ticks;
    }
  }
  const summary = s.policies.map((policy): PolicySummary => {
    const mine = runs.filter((r) => r.policy === policy);
    return {
      policy,
      runs: mine.length,
      violations: mean(mine.map((r) => r.violations)),
      violationPct: mean(mine.map((r) => r.violationPct)),
      replicaSeconds: mean(mine.map((r) => r.replicaSeconds)),
      p50QueueMs: mean(mine.map((r) => r.p50QueueMs)),
      p99QueueMs: mean(mine.map((r) => r.p99QueueMs)),
      meanReplicas: mean(mine.map((r) => r.meanReplicas)),
      scaleUps: mean(mine.map((r) => r.scaleUps)),
      scaleDowns: mean(mine.map((r) => r.scaleDowns)),
    };
  });
  return { settings: s, runs, summary, series };
};
