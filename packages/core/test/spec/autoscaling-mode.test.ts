import { Either, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { encodeLeaseSpec, LeaseSpecSchema, validateLeaseSpec, type LeaseSpec } from "../../src/spec/index.js";

// autoscaling.mode: who scales the lease (hpa: the backend's autoscaler, builtin: berthd's).
// Optional and absent by default (the backend's default applies), so older specs read the same.

const opts = { defaultRepository: "demo" };
const base = { name: "l1", models: ["simple"], resources: { gpuMemory: "4Gi" } };
const autoscaling = { metric: "queue_time", target: 200, maxReplicas: 3 };
const ok = (input: unknown): LeaseSpec => Either.getOrThrow(validateLeaseSpec(input, opts));
const problems = (input: unknown) => Either.match(validateLeaseSpec(input, opts), { onLeft: (e) => e.problems.map((p) => [p.path, p.message]), onRight: () => [] });

describe("lease specs: autoscaling.mode", () => {
  it("is absent unless given, and read as given", () => {
    expect(ok({ ...base, autoscaling }).autoscaling).toEqual({ metric: "queue_time", target: 200, minReplicas: 1, maxReplicas: 3, policy: "hpa" });
    expect(ok({ ...base, autoscaling: { ...autoscaling, mode: "hpa" } }).autoscaling?.mode).toBe("hpa");
    expect(ok({ ...base, autoscaling: { ...autoscaling, mode: "builtin" } }).autoscaling?.mode).toBe("builtin");
  });

  it("names the choices when it is neither", () => {
    expect(problems({ ...base, autoscaling: { ...autoscaling, mode: "keda" } })).toEqual([
      ["autoscaling.mode", '"keda" is not an autoscaling mode: use "hpa" (the backend\'s HorizontalPodAutoscaler) or "builtin" (berthd scales)'],
    ]);
  });

  it("survives encoding and the stored form, and stored specs without it still decode", () => {
    const spec = ok({ ...base, autoscaling: { ...autoscaling, mode: "builtin" } });
    expect(ok(encodeLeaseSpec(spec))).toEqual(spec);
    const stored = Schema.encodeSync(LeaseSpecSchema)(spec);
    expect(Schema.decodeUnknownSync(LeaseSpecSchema)(stored)).toEqual(spec);
    const older = ok({ ...base, autoscaling });
    expect(Schema.decodeUnknownSync(LeaseSpecSchema)(Schema.encodeSync(LeaseSpecSchema)(older))).toEqual(older);
  });
});
