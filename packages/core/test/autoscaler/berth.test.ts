import { describe, expect, it } from "vitest";
import { berthRecommend, defaultBerthOptions } from "../../src/autoscaler/berth.js";
import { hpaRecommend } from "../../src/autoscaler/hpa.js";
import { erlangC, probabilityWaitOver, replicasForWaitTarget } from "../../src/autoscaler/queueing.js";
import { autoscalerPolicies, isAutoscalerPolicyName } from "../../src/autoscaler/registry.js";
import { emptyAutoscalerMemory, type AutoscalerMemory, type MetricSample } from "../../src/autoscaler/types.js";
import type { AutoscalingSpec } from "../../src/spec/types.js";

const T0 = 1_700_000_000_000;
const spec: AutoscalingSpec = { metric: "queue_time", target: 2000, minReplicas: 1, maxReplicas: 50, policy: "berth" };
const load = (arrivalRate: number, extra: Partial<MetricSample> = {}): MetricSample => ({
  value: 0,
  readyReplicas: 1,
  arrivalRate,
  meanServiceMs: 1000,
  queued: 0,
  slotsPerReplica: 4,
  ...extra,
});

describe("Erlang C", () => {
  it("matches closed forms: M/M/1 waits with probability rho; M/M/2 at a = 1 with 1/3", () => {
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 12);
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    expect(erlangC(4, 0)).toBe(0);
    expect(erlangC(4, 4)).toBe(1);
  });

  it("P(wait > t) decays with t and the replicas found meet the bound while one fewer does not", () => {
    expect(probabilityWaitOver(8, 6, 1000, 2000)).toBeLessThan(probabilityWaitOver(8, 6, 1000, 500));
    const n = replicasForWaitTarget(30, 4, 1000, 2000, 0.01, 100);
    expect(probabilityWaitOver(n * 4, 30, 1000, 2000)).toBeLessThanOrEqual(0.01);
    expect(probabilityWaitOver((n - 1) * 4, 30, 1000, 2000)).toBeGreaterThan(0.01);
  });
});

describe("Berth's autoscaler", () => {
  it("is registered beside hpa", () => {
    expect(isAutoscalerPolicyName("berth")).toBe(true);
    expect(isAutoscalerPolicyName("nope")).toBe(false);
    expect(autoscalerPolicies.berth().name).toBe("berth");
    expect(autoscalerPolicies.hpa().name).toBe("hpa");
  });

  it("sizes the fleet from arrival rate x service time, so load that has not yet queued still scales", () => {
    // 20 req/s x 1 s = 20 busy slots: at least 5 replicas of 4 slots, though queue time is still 0.
    const r = berthRecommend({ now: T0, spec, currentReplicas: 1, sample: load(20) }, emptyAutoscalerMemory);
    expect(r.desired).toBeGreaterThanOrEqual(6);
    expect(r.reason["rule"]).toBe("ScaleUpForLoad");
    // HPA sees a queue time of 0 and would shrink, not grow.
    expect(hpaRecommend({ now: T0, spec: { ...spec, policy: "hpa" }, currentReplicas: 1, sample: load(20) }, emptyAutoscalerMemory).desired).toBe(1);
  });

  it("scales up at once past HPA's 4-pods-or-100% step", () => {
    const r = berthRecommend({ now: T0, spec, currentReplicas: 2, sample: load(60) }, emptyAutoscalerMemory);
    expect(r.desired).toBeGreaterThan(Math.max(2 + 4, 2 * 2));
  });

  it("counts replicas already starting: does not order them twice", () => {
    const first = berthRecommend({ now: T0, spec, currentReplicas: 1, sample: load(20) }, emptyAutoscalerMemory);
    const again = berthRecommend({ now: T0 + 15_000, spec, currentReplicas: first.desired, sample: load(20, { readyReplicas: 1 }) }, first.memory);
    expect(again.desired).toBe(first.desired);
  });

  it("holds through the scale-down window, then shrinks", () => {
    let memory: AutoscalerMemory = emptyAutoscalerMemory;
    let current = 1;
    const step = (k: number, rate: number) => {
      const r = berthRecommend({ now: T0 + k * 15_000, spec, currentReplicas: current, sample: load(rate, { readyReplicas: current }) }, memory);
      memory = r.memory;
      current = r.desired;
      return r;
    };
    step(0, 30);
    const peak = current;
    expect(peak).toBeGreaterThan(5);
    const windowSyncs = defaultBerthOptions.scaleDownWindowMs / 15_000;
    for (let k = 1; k < windowSyncs; k++) expect(step(k, 0).desired).toBe(peak);
    let k = windowSyncs;
    while (current > 1 && k < windowSyncs + 40) step(k++, 0);
    expect(current).toBe(1);
  });

  it("without load observations it falls back to the ratio rule", () => {
    const r = berthRecommend({ now: T0, spec, currentReplicas: 2, sample: { value: 6000, readyReplicas: 2 } }, emptyAutoscalerMemory);
    expect(r.desired).toBe(6);
    expect(berthRecommend({ now: T0, spec, currentReplicas: 3 }, emptyAutoscalerMemory).desired).toBe(3);
  });

  it("is pure: memory in, memory out, the input memory untouched", () => {
    const before = JSON.stringify(emptyAutoscalerMemory);
    const a = berthRecommend({ now: T0, spec, currentReplicas: 3, sample: load(5) }, emptyAutoscalerMemory);
    const b = berthRecommend({ now: T0, spec, currentReplicas: 3, sample: load(5) }, emptyAutoscalerMemory);
    expect(a).toEqual(b);
    expect(JSON.stringify(emptyAutoscalerMemory)).toBe(before);
  });
});
