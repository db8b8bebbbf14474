import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hpaRecommend } from "../../src/autoscaler/hpa.js";
import { autoscalerPolicies } from "../../src/autoscaler/registry.js";
import { emptyAutoscalerMemory, type AutoscalerMemory } from "../../src/autoscaler/types.js";
import type { AutoscalingSpec } from "../../src/spec/types.js";

const T0 = 1_700_000_000_000;
const PERIOD = 15_000;

const bounds = fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 40 })).map(([min, extra]) => ({ min, max: min + extra }));
const specOf = (b: { min: number; max: number }, target = 100): AutoscalingSpec => ({ metric: "queue_time", target, minReplicas: b.min, maxReplicas: b.max, policy: "hpa" });
/** Metric values from idle to 50x the target, and sometimes missing. */
const sample = fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: undefined, freq: 8 });

interface Step {
  readonly now: number;
  readonly current: number;
  readonly desired: number;
  readonly proposed?: number;
}

/** Runs HPA at 15 s syncs, applying each decision at once (all replicas ready). */
const run = (b: { min: number; max: number }, start: number, values: readonly (number | undefined)[]): Step[] => {
  let memory: AutoscalerMemory = emptyAutoscalerMemory;
  let current = start;
  return values.map((v, k) => {
    const now = T0 + k * PERIOD;
    const r = hpaRecommend({ now, spec: specOf(b), currentReplicas: current, ...(v === undefined ? {} : { sample: { value: v, readyReplicas: current } }) }, memory);
    const step: Step = { now, current, desired: r.desired, ...(typeof r.reason["proposed"] === "number" ? { proposed: r.reason["proposed"] } : {}) };
    memory = r.memory;
    current = r.desired;
    return step;
  });
};

describe("HPA properties", () => {
  it("the desired count is always within [min, max]", () => {
    fc.assert(
      fc.property(bounds, fc.integer({ min: 0, max: 80 }), fc.array(sample, { maxLength: 60 }), (b, start, values) => {
        for (const s of run(b, start, values)) {
          expect(s.desired).toBeGreaterThanOrEqual(b.min);
          expect(s.desired).toBeLessThanOrEqual(b.max);
        }
      }),
    );
  });

  it("a usage ratio within the tolerance leaves the count unchanged", () => {
    fc.assert(
      fc.property(bounds, fc.integer({ min: 0, max: 40 }), fc.double({ min: 0.9, max: 1.1, noNaN: true }), (b, offset, ratio) => {
        const current = Math.min(b.max, b.min + offset);
        const r = hpaRecommend({ now: T0, spec: specOf(b), currentReplicas: current, sample: { value: ratio * 100, readyReplicas: current } }, emptyAutoscalerMemory);
        expect(r.desired).toBe(current);
      }),
    );
  });

  it("is monotonic in the metric for a fresh memory", () => {
    fc.assert(
      fc.property(bounds, fc.integer({ min: 0, max: 40 }), fc.double({ min: 0, max: 5000, noNaN: true }), fc.double({ min: 0, max: 5000, noNaN: true }), (b, offset, x, y) => {
        const current = Math.min(b.max, b.min + offset);
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        const at = (v: number) => hpaRecommend({ now: T0, spec: specOf(b), currentReplicas: current, sample: { value: v, readyReplicas: current } }, emptyAutoscalerMemory).desired;
        expect(at(lo)).toBeLessThanOrEqual(at(hi));
      }),
    );
  });

  it("never scales up faster than the default policies allow per 15 s (max of +4 pods and +100%)", () => {
    fc.assert(
      fc.property(bounds, fc.integer({ min: 1, max: 60 }), fc.array(sample, { maxLength: 60 }), (b, start, values) => {
        for (const s of run(b, start, values)) {
          if (s.current < b.min || s.current > b.max) continue; // brought into range without the rate limits
          expect(s.desired).toBeLessThanOrEqual(Math.max(s.current + 4, 2 * s.current));
        }
      }),
    );
  });

  it("never scales down below a proposal made within the last 300 s", () => {
    fc.assert(
      fc.property(bounds, fc.integer({ min: 1, max: 60 }), fc.array(sample, { maxLength: 60 }), (b, start, values) => {
        const steps = run(b, start, values);
        steps.forEach((s, k) => {
          if (s.desired >= s.current || s.current > b.max) return;
          // The first sync records the count it found as a recommendation.
          const recent = [steps[0].current, ...steps.slice(0, k + 1).filter((p) => p.now > s.now - 300_000 && p.proposed !== undefined).map((p) => p.proposed!)];
          const firstInWindow = steps[0].now > s.now - 300_000;
          const highest = Math.max(...(firstInWindow ? recent : recent.slice(1)));
          expect(s.desired).toBeGreaterThanOrEqual(Math.min(highest, s.current));
        });
      }),
    );
  });

  it("is deterministic: the same inputs give the same decisions and memory", () => {
    fc.assert(
      fc.property(bounds, fc.integer({ min: 0, max: 60 }), fc.array(sample, { maxLength: 40 }), (b, start, values) => {
        expect(run(b, start, values)).toEqual(run(b, start, values));
      }),
    );
  });

  it("every registered policy stays within [min, max] for any sequence", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(autoscalerPolicies) as (keyof typeof autoscalerPolicies)[])),
        bounds,
        fc.integer({ min: 0, max: 60 }),
        fc.array(fc.record({ value: fc.double({ min: 0, max: 10_000, noNaN: true }), rate: fc.double({ min: 0, max: 200, noNaN: true }), service: fc.double({ min: 1, max: 60_000, noNaN: true }), queued: fc.nat(500) }), { maxLength: 40 }),
        (name, b, start, samples) => {
          const policy = autoscalerPolicies[name]();
          let memory: AutoscalerMemory = emptyAutoscalerMemory;
          let current = start;
          samples.forEach((s, k) => {
            const r = policy.recommend(
              { now: T0 + k * PERIOD, spec: { ...specOf(b, 2000), policy: name }, currentReplicas: current, sample: { value: s.value, readyReplicas: Math.max(1, current), arrivalRate: s.rate, meanServiceMs: s.service, queued: s.queued, slotsPerReplica: 4 } },
              memory,
            );
            expect(r.desired).toBeGreaterThanOrEqual(b.min);
            expect(r.desired).toBeLessThanOrEqual(b.max);
            memory = r.memory;
            current = r.desired;
          });
        },
      ),
    );
  });
});
