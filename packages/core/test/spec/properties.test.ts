import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Either } from "effect";
import {
  encodeLeaseSpec, encodePoolSpec, validateLeaseSpec, validatePoolSpec, MAX_REPLICAS,
  type LeaseSpec, type PoolSpec, type Resources,
} from "../../src/spec/index.js";
import { GiB } from "../../src/units.js";

// Generated valid specs survive encode -> validate unchanged; corrupting any set of
// independent fields reports exactly those fields, all at once.

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const modelRef = fc.record({
  name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/),
  version: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
  repository: label,
}).map((r) => (r.version === undefined ? { name: r.name, repository: r.repository } : r));

const resources = (gpuMemory: fc.Arbitrary<number>): fc.Arbitrary<Resources> =>
  fc.record({
    gpuMemory,
    gpus: fc.integer({ min: 0, max: 16 }),
    gpuMilli: fc.integer({ min: 0, max: 1000 }),
    cpu: fc.integer({ min: 0, max: 128_000 }),
    memory: fc.oneof(fc.integer({ min: 0, max: 512 }).map((g) => g * GiB), fc.maxSafeNat()),
    gpuModels: fc.uniqueArray(fc.constantFrom("A100", "H100", "T4", "L4"), { maxLength: 3 }),
  }).map((r) => (r.gpus > 0 ? { ...r, gpuMilli: 0 } : r));

const leaseSpec: fc.Arbitrary<LeaseSpec> = fc
  .record({
    name: label,
    tenant: label,
    models: fc.uniqueArray(modelRef, { minLength: 1, maxLength: 5, selector: (m) => `${m.name}@${m.repository}` }),
    pool: fc.option(label, { nil: undefined }),
    extraQuota: fc.integer({ min: 0, max: 8 * GiB }),
    resources: resources(fc.integer({ min: 0, max: 80 * GiB })),
    image: fc.constantFrom("", "nvcr.io/nvidia/tritonserver:24.01-py3"),
    minDuration: fc.integer({ min: 0, max: 30 * 86_400_000 }),
    renewal: fc.record({ enabled: fc.boolean(), activityWindow: fc.integer({ min: 1000, max: 86_400_000 }) }),
    autoscaling: fc.option(
      fc.record({
        metric: fc.constantFrom("queue_time", "inflight", "rps"),
        target: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
        minReplicas: fc.integer({ min: 1, max: MAX_REPLICAS }),
        extra: fc.integer({ min: 0, max: MAX_REPLICAS }),
        policy: fc.constantFrom("hpa" as const, "berth" as const),
      }).map(({ extra, ...a }) => ({ ...a, maxReplicas: Math.min(MAX_REPLICAS, a.minReplicas + extra) })),
      { nil: undefined },
    ),
    names: fc.uniqueArray(label, { maxLength: 6 }),
    split: fc.nat(6),
    labels: fc.dictionary(fc.stringMatching(/^([a-z]{1,5}\.io\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,8}[A-Za-z0-9])?$/), fc.stringMatching(/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,8}[A-Za-z0-9])?)?$/), { maxKeys: 4 }),
  })
  .map(({ pool, extraQuota, autoscaling, names, split, name, ...rest }) => {
    const others = names.filter((n) => n !== name);
    const spec: LeaseSpec = {
      ...rest,
      name,
      where: pool === undefined ? { kind: "bespoke" } : { kind: "pool", pool, quota: rest.resources.gpuMemory + extraQuota },
      colocation: { with: others.slice(0, split), notWith: others.slice(split) },
    };
    return autoscaling === undefined || pool !== undefined ? spec : { ...spec, autoscaling };
  });

const poolSpec: fc.Arbitrary<PoolSpec> = fc
  .record({
    name: label,
    image: fc.constantFrom("", "triton:24.01"),
    group: fc.constantFrom("", "onnxruntime", "pytorch_libtorch"),
    resources: resources(fc.integer({ min: 1, max: 141 * GiB })),
    minInstances: fc.integer({ min: 0, max: 64 }),
    extra: fc.integer({ min: 0, max: 64 }),
    quotaShare: fc.double({ min: 0.01, max: 1, noNaN: true }),
  })
  .map(({ name, image, group, resources: r, minInstances, extra, quotaShare }) => ({
    name,
    template: { image, group, resources: r },
    minInstances,
    maxInstances: Math.max(1, Math.min(64, minInstances + extra)),
    quotaPerInstance: Math.max(1, Math.floor(r.gpuMemory * quotaShare)),
  }));

/** Independent corruptions of a lease's user form: each breaks one field and is reported at `path`. */
const corruptions: readonly { readonly path: string; readonly apply: (input: Record<string, unknown>) => void }[] = [
  { path: "name", apply: (i) => { i.name = "Bad_Name"; } },
  { path: "tenant", apply: (i) => { i.tenant = "Team A"; } },
  { path: "models[0]", apply: (i) => { i.models = [5, ...(i.models as unknown[]).slice(1)]; } },
  { path: "resources.gpuMemory", apply: (i) => { (i.resources as Record<string, unknown>).gpuMemory = "4Gb"; } },
  { path: "resources.cpu", apply: (i) => { (i.resources as Record<string, unknown>).cpu = "lots"; } },
  { path: "resources.gpuMilli", apply: (i) => { (i.resources as Record<string, unknown>).gpuMilli = 5000; } },
  { path: "minDuration", apply: (i) => { i.minDuration = "30"; } },
  { path: "renewal.activityWindow", apply: (i) => { (i.renewal as Record<string, unknown>).activityWindow = "soon"; } },
  { path: 'labels["bad key!"]', apply: (i) => { i.labels = { ...(i.labels as object), "bad key!": "v" }; } },
  { path: "image", apply: (i) => { i.image = "has space"; } },
  { path: "colocation.with[0]", apply: (i) => { (i.colocation as Record<string, unknown>).with = ["Not_A_Label"]; } },
  { path: "gpuMemroy", apply: (i) => { i.gpuMemroy = "4Gi"; } },
];

describe("spec properties", () => {
  it("validate(encode(lease)) gives the lease back", () => {
    fc.assert(fc.property(leaseSpec, (spec) => {
      expect(validateLeaseSpec(encodeLeaseSpec(spec))).toEqual(Either.right(spec));
    }), { numRuns: 300 });
  });

  it("validate(encode(pool)) gives the pool back", () => {
    fc.assert(fc.property(poolSpec, (spec) => {
      expect(validatePoolSpec(encodePoolSpec(spec))).toEqual(Either.right(spec));
    }), { numRuns: 300 });
  });

  it("a lease with N independent problems reports exactly those N, each at its path", () => {
    fc.assert(fc.property(leaseSpec, fc.subarray([...corruptions], { minLength: 1 }), (spec, chosen) => {
      const input = structuredClone(encodeLeaseSpec(spec)) as unknown as Record<string, unknown>;
      for (const c of chosen) c.apply(input);
      const result = validateLeaseSpec(input);
      expect(Either.isLeft(result)).toBe(true);
      if (Either.isLeft(result)) {
        expect(result.left.problems.map((p) => p.path).sort()).toEqual(chosen.map((c) => c.path).sort());
        for (const p of result.left.problems) expect(p.message.length).toBeGreaterThan(10);
      }
    }), { numRuns: 300 });
  });

  it("any input that is not a valid spec is rejected with at least one located problem, never a throw", () => {
    const anything = fc.oneof(
      fc.anything(),
      leaseSpec.map(encodeLeaseSpec).chain((input) =>
        fc.record({ key: fc.constantFrom(...Object.keys(input), "resources", "autoscaling"), value: fc.anything() })
          .map(({ key, value }) => ({ ...input, [key]: value }))),
    );
    fc.assert(fc.property(anything, (input) => {
      const result = validateLeaseSpec(input);
      if (Either.isLeft(result)) {
        expect(result.left.problems.length).toBeGreaterThan(0);
        for (const p of result.left.problems) expect(typeof p.path === "string" && p.message !== "").toBe(true);
      } else {
        // Accepted: it must then round-trip like any valid spec.
        expect(validateLeaseSpec(encodeLeaseSpec(result.right))).toEqual(result);
      }
    }), { numRuns: 500 });
  });
});
