import { describe, expect, it } from "vitest";
import { defaultHpaBehavior, scaleDownLimit, scaleUpLimit, type HpaScalingRules, type ScaleEvent } from "../../src/autoscaler/hpa-behavior.js";
import { hpaRecommend } from "../../src/autoscaler/hpa.js";
import { proposeReplicas } from "../../src/autoscaler/hpa-replica-calculator.js";
import { emptyAutoscalerMemory, type AutoscalerMemory, type AutoscalerResult } from "../../src/autoscaler/types.js";
import type { AutoscalingSpec } from "../../src/spec/types.js";

const spec = (min = 1, max = 100, target = 100): AutoscalingSpec => ({ metric: "queue_time", target, minReplicas: min, maxReplicas: max, policy: "hpa" });
const T0 = 1_700_000_000_000;
const sync = (current: number, value: number | undefined, memory: AutoscalerMemory = emptyAutoscalerMemory, now = T0, s = spec(), ready = current): AutoscalerResult =>
  hpaRecommend({ now, spec: s, currentReplicas: current, ...(value === undefined ? {} : { sample: { value, readyReplicas: ready } }) }, memory);

describe("HPA: the documented algorithm (kubernetes.io, Horizontal Pod Autoscaling, Algorithm details)", () => {
  it("current 200m against a target of 100m doubles the replicas", () => {
    expect(sync(4, 200).desired).toBe(8);
  });

  it("current 50m against 100m halves them once the 5-minute stabilization window has passed", () => {
    const first = sync(4, 100); // within tolerance: keeps 4, records 4
    expect(first.desired).toBe(4);
    const early = sync(4, 50, first.memory, T0 + 15_000);
    expect(early.desired).toBe(4); // the recommendations of the last 5 minutes include 4
    const late = sync(4, 50, early.memory, T0 + 315_000);
    expect(late.desired).toBe(2);
  });

  it("a ratio within the 0.1 tolerance leaves the count unchanged; just outside it scales", () => {
    expect(sync(10, 108).desired).toBe(10);
    expect(sync(10, 110).desired).toBe(10); // 1.1 is inside the band (1 - 0.1 <= r <= 1 + 0.1)
    expect(sync(10, 111).desired).toBe(12); // ceil(1.11 * 10)
    expect(sync(10, 92).reason["rule"]).toBe("DesiredWithinRange");
  });

  it("scale-down stabilization applies the highest recommendation of the last 300 s", () => {
    let m = emptyAutoscalerMemory;
    let current = 10;
    // Recommendations 10 (initial), 8, 6, 4 at 0, 60, 120, 180 s: no scale-down before 300 s after the 10.
    const values = [100, 80, 60, 40];
    values.forEach((v, i) => {
      const r = sync(current, v, m, T0 + i * 60_000);
      m = r.memory;
      expect(r.desired).toBe(10);
      current = r.desired;
    });
    // At 301 s the 10 (recorded at 0 s) has left the window: the highest left is 8 (at 60 s).
    const r = sync(current, 40, m, T0 + 301_000);
    expect(r.desired).toBe(8);
    // At 361 s the 8 has left too: 6.
    expect(sync(r.desired, 40, r.memory, T0 + 361_000).desired).toBe(6);
  });

  it("default scale-up policies grow 1 -> 5 -> 10 -> 20 -> 40 at 15 s syncs (4 pods or 100% per 15 s, the larger)", () => {
    let m = emptyAutoscalerMemory;
    let current = 1;
    const seen = [current];
    for (let k = 0; k < 4; k++) {
      const r = sync(current, 100_000, m, T0 + k * 15_000);
      m = r.memory;
      current = r.desired;
      seen.push(current);
    }
    expect(seen).toEqual([1, 5, 10, 20, 40]);
  });

  it("a second scale-up inside the same 15 s period is limited by the first one's event", () => {
    const r1 = sync(2, 100_000, emptyAutoscalerMemory, T0);
    expect(r1.desired).toBe(6); // max(2 + 4, 2 * 2)
    const r2 = sync(6, 100_000, r1.memory, T0 + 5_000);
    expect(r2.desired).toBe(6); // the period started at 2 replicas: the limit is still 6
    expect(r2.reason["rule"]).toBe("ScaleUpLimit");
  });

  it("clamps to max, reporting TooManyReplicas", () => {
    const r = sync(8, 400, emptyAutoscalerMemory, T0, spec(1, 10));
    expect(r.desired).toBe(10);
    expect(r.reason["rule"]).toBe("TooManyReplicas");
  });

  it("brings a count outside [min, max] back inside without reading the metric", () => {
    expect(sync(12, undefined, emptyAutoscalerMemory, T0, spec(2, 10)).desired).toBe(10);
    expect(sync(1, undefined, emptyAutoscalerMemory, T0, spec(2, 10)).desired).toBe(2);
  });

  it("a missing metric keeps the current count", () => {
    const r = sync(5, undefined);
    expect(r.desired).toBe(5);
    expect(r.reason["rule"]).toBe("MissingMetric");
    expect(sync(5, 300, emptyAutoscalerMemory, T0, spec(), 0).desired).toBe(5); // no ready replica reported
  });

  it("counts starting (unready) replicas as 0 on a scale-up, and holds when that reverses the direction", () => {
    // 2 ready at 3x the target, 2 starting: average over 4 is 1.5x -> ceil(1.5 * 4) = 6.
    expect(sync(4, 300, emptyAutoscalerMemory, T0, spec(), 2).desired).toBe(6);
    // 2 ready at 1.8x, 2 starting: average 0.9x would be a scale-down: keep 4.
    expect(sync(4, 180, emptyAutoscalerMemory, T0, spec(), 2).desired).toBe(4);
  });

  it("counts starting replicas at the target on a scale-down (Kubernetes' missing pods), so a dip does not remove them before they serve", () => {
    const propose = (current: number, value: number, ready: number) => {
      const p = proposeReplicas(current, { value, readyReplicas: ready }, 100, { scaleUp: 0.1, scaleDown: 0.1 });
      return p.kind === "proposal" ? p.replicas : undefined;
    };
    // 1 ready at 0.07x, 2 starting at 1x: average 0.69x over 3 -> ceil(2.07) = 3, kept.
    expect(propose(3, 7, 1)).toBe(3);
    // 1 ready idle, 2 starting: 0.67x over 3 -> 2 (only the ready one's share goes).
    expect(propose(3, 0, 1)).toBe(2);
    // Without starting replicas the same dip goes to ceil(0.07 * 1) = 1.
    expect(propose(1, 7, 1)).toBe(1);
    // 2 ready at 0.3x, 4 starting: (0.6 + 4) / 6 = 0.77x -> ceil(4.6) = 5.
    expect(propose(6, 30, 2)).toBe(5);
    // Exactly at the target with replicas starting: within tolerance, nothing changes.
    expect(propose(3, 100, 1)).toBe(3);
  });
});

describe("HPA rate limits match Kubernetes' unit tests (TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors)", () => {
  const now = T0;
  const rules = (policies: HpaScalingRules["policies"], selectPolicy: HpaScalingRules["selectPolicy"] = "Max"): HpaScalingRules => ({
    stabilizationWindowMs: 0,
    selectPolicy,
    policies,
    tolerance: 0.1,
  });
  const up = (value: number, periodS = 60) => ({ type: "Pods" as const, value, periodMs: periodS * 1000 });
  const pct = (value: number, periodS = 60) => ({ type: "Percent" as const, value, periodMs: periodS * 1000 });
  const thirtySecondsAgo = (delta: number): ScaleEvent => [now - 30_000, delta];

  it.each([
    ["no previous events", 5, [], rules([up(4)]), 9],
    ["with a previous scale-up event", 5, [thirtySecondsAgo(2)], rules([up(4)]), 7],
    ["disabled", 5, [], rules([up(4)], "Disabled"), 5],
    ["min change", 5, [], rules([up(4), up(2)], "Min"), 7],
    ["percent", 10, [], rules([pct(50)]), 15],
  ] as const)("scale-up limit: %s", (_name, current, events, r, expected) => {
    expect(scaleUpLimit(current, events, r, now)).toBe(expected);
  });

  it.each([
    ["no previous events", 10, [], rules([pct(20)]), 8],
    ["with a previous scale-down event", 10, [thirtySecondsAgo(-1)], rules([pct(20)]), 8],
    ["multiple policies", 100, [], rules([pct(10), up(5)]), 90],
    ["disabled", 10, [], rules([pct(20)], "Disabled"), 10],
    ["min change", 100, [], rules([pct(10), up(15)], "Min"), 90],
  ] as const)("scale-down limit: %s", (_name, current, events, r, expected) => {
    expect(scaleDownLimit(current, events, r, now)).toBe(expected);
  });

  it("the documented scale-down example: 10% per minute removes 8 from 80, then 8 from 72 (72 * 0.9 truncates to 64)", () => {
    const r = rules([up(4), pct(10)]);
    expect(scaleDownLimit(80, [], r, now)).toBe(72);
    expect(scaleDownLimit(72, [], r, now)).toBe(64);
    // Below 40 replicas the Pods policy (4) allows the larger change.
    expect(scaleDownLimit(30, [], r, now)).toBe(26);
  });

  it("events exactly one period old no longer count", () => {
    expect(scaleUpLimit(5, [[now - 15_000, 4]], defaultHpaBehavior.scaleUp, now)).toBe(10);
    expect(scaleUpLimit(5, [[now - 14_999, 4]], defaultHpaBehavior.scaleUp, now)).toBe(5);
  });
});
