import { describe, expect, it } from "vitest";
import { Either, Schema } from "effect";
import { encodeLeaseSpec, leaseSpecFromInput, validateLeaseSpec, type LeaseSpec, type SpecOptions } from "../../src/spec/index.js";
import { GiB } from "../../src/units.js";

const opts: SpecOptions = { defaultRepository: "demo" };
const ok = (input: unknown, options = opts): LeaseSpec => Either.getOrThrow(validateLeaseSpec(input, options));
const problems = (input: unknown, options: Parameters<typeof validateLeaseSpec>[1] = opts) =>
  Either.match(validateLeaseSpec(input, options), { onLeft: (e) => e.problems.map((p) => [p.path, p.message]), onRight: () => [] });
const base = { name: "l1", models: ["simple"], resources: { gpuMemory: "4Gi" } };

describe("lease specs", () => {
  it("fills in every default", () => {
    expect(ok(base)).toEqual({
      name: "l1", tenant: "default", models: [{ name: "simple", repository: "demo" }], where: { kind: "bespoke" },
      resources: { gpuMemory: 4 * GiB, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 2 * GiB, gpuModels: [] },
      image: "", minDuration: 30 * 60_000, renewal: { enabled: true, activityWindow: 5 * 60_000 },
      colocation: { with: [], notWith: [] }, labels: {},
    });
  });

  it("reads a full spec in the friendly form", () => {
    const spec = ok({
      name: "vision", tenant: "team-a", models: ["resnet50:3@models", { name: "densenet_onnx" }],
      resources: { gpuMemory: "6Gi", gpus: 1, cpu: "500m", memory: "8Gi", gpuModels: ["A100"] }, image: "triton:24.01",
      minDuration: "1h", renewal: { enabled: false, activityWindow: "10m" },
      autoscaling: { metric: "queue_time", target: 50, maxReplicas: 4, policy: "berth" },
      colocation: { with: ["text"], notWith: ["batch"] }, labels: { team: "vision", "example.com/tier": "gold" },
    }, { ...opts, imageAllowlist: ["triton:*"] });
    expect(spec.models).toEqual([{ name: "resnet50", version: 3, repository: "models" }, { name: "densenet_onnx", repository: "demo" }]);
    expect(spec.resources).toEqual({ gpuMemory: 6 * GiB, gpus: 1, gpuMilli: 0, cpu: 500, memory: 8 * GiB, gpuModels: ["A100"] });
    expect(spec.autoscaling).toEqual({ metric: "queue_time", target: 50, minReplicas: 1, maxReplicas: 4, policy: "berth" });
    expect(spec.minDuration).toBe(3_600_000);
    expect(spec.renewal).toEqual({ enabled: false, activityWindow: 600_000 });
  });

  it("a pool lease's gpuMemory and quota default to each other", () => {
    expect(ok({ name: "l", models: ["m"], pool: "p1", quota: "8Gi" }).where).toEqual({ kind: "pool", pool: "p1", quota: 8 * GiB });
    expect(ok({ name: "l", models: ["m"], pool: "p1", quota: "8Gi" }).resources.gpuMemory).toBe(8 * GiB);
    expect(ok({ name: "l", models: ["m"], pool: "p1", resources: { gpuMemory: "2Gi" } }).where).toEqual({ kind: "pool", pool: "p1", quota: 2 * GiB });
  });

  it.each([
    ["no name", { models: ["m"], resources: { gpuMemory: 1 } }, [["name", "the lease name is missing: give a lowercase name like my-lease"]]],
    ["no models", { name: "l", models: [], resources: { gpuMemory: 1 } }, [["models", "a lease needs at least one model, e.g. models: [simple@demo]"]]],
    ["a duplicate model", { ...base, models: ["simple", "simple:2@demo", "other"] }, [["models[1]", "simple@demo is listed twice (also models[0]); a lease loads each model once"]]],
    ["too many models", { ...base, models: Array.from({ length: 65 }, (_, i) => `m${i}`) }, [["models", "a lease may hold at most 64 models, not 65"]]],
    ["no gpuMemory on a bespoke lease", { name: "l", models: ["m"] }, [["resources.gpuMemory", "gpuMemory is missing: give the GPU memory the models need, e.g. 4Gi"]]],
    ["no gpuMemory nor quota on a pool lease", { name: "l", models: ["m"], pool: "p" }, [["resources.gpuMemory", "gpuMemory is missing: give the GPU memory the models need (e.g. 4Gi), or a quota"]]],
    ["gpuMemory above the quota", { ...base, pool: "p", quota: "1Gi" }, [["resources.gpuMemory", 'gpuMemory ("4Gi") is more than the quota ("1Gi"): the models could never load']]],
    ["quota without a pool", { ...base, quota: "1Gi" }, [["quota", "quota is for pool leases: name a pool, or leave quota out"]]],
    ["autoscaling on a pool lease", { ...base, pool: "p", autoscaling: { metric: "rps", target: 1, maxReplicas: 2 } },
      [["autoscaling", "autoscaling is for bespoke leases: a pool lease runs on the pool's instances (set minInstances/maxInstances on the pool)"]]],
    ["gpus and gpuMilli together", { ...base, resources: { gpuMemory: 1, gpus: 2, gpuMilli: 500 } },
      [["resources.gpuMilli", "gpus and gpuMilli cannot both be set: ask for 2 whole GPUs or a share of one GPU (gpuMilli), not both"]]],
    ["gpuMilli above 1000", { ...base, resources: { gpuMemory: 1, gpuMilli: 1001 } },
      [["resources.gpuMilli", "1001 is not allowed for gpuMilli (thousandths of one GPU): use a whole number from 0 to 1000"]]],
    ["too many gpus", { ...base, resources: { gpuMemory: 1, gpus: 17 } }, [["resources.gpus", "17 is not allowed for gpus: use a whole number from 0 to 16"]]],
    ["a repeated GPU model", { ...base, resources: { gpuMemory: 1, gpuModels: ["A100", "A100"] } }, [["resources.gpuModels[1]", '"A100" is listed twice']]],
    ["minReplicas above maxReplicas", { ...base, autoscaling: { metric: "rps", target: 10, minReplicas: 5, maxReplicas: 2 } },
      [["autoscaling.maxReplicas", "maxReplicas (2) is below minReplicas (5)"]]],
    ["minReplicas 0", { ...base, autoscaling: { metric: "rps", target: 10, minReplicas: 0, maxReplicas: 2 } },
      [["autoscaling.minReplicas", "0 is not allowed for minReplicas: use a whole number from 1 to 64"]]],
    ["maxReplicas above the cap", { ...base, autoscaling: { metric: "rps", target: 10, maxReplicas: 65 } },
      [["autoscaling.maxReplicas", "65 is not allowed for maxReplicas: use a whole number from 1 to 64"]]],
    ["autoscaling without its required fields", { ...base, autoscaling: {} }, [
      ["autoscaling.metric", "metric is missing: name the metric to scale on, e.g. queue_time, inflight or rps"],
      ["autoscaling.target", "target is missing: give the metric's target value per replica"],
      ["autoscaling.maxReplicas", "maxReplicas is missing: give the most replicas to scale to (up to 64)"],
    ]],
    ["a bad metric and policy", { ...base, autoscaling: { metric: "Queue Time", target: -1, maxReplicas: 2, policy: "kpa" } }, [
      ["autoscaling.metric", '"Queue Time" is not a metric name: use lowercase letters, digits and \'_\', e.g. queue_time, inflight, rps'],
      ["autoscaling.target", "-1 is not allowed for target: it must be more than 0"],
      ["autoscaling.policy", '"kpa" is not an autoscaler policy: use "hpa" (Kubernetes\' algorithm) or "berth"'],
    ]],
    ["a lease naming itself", { ...base, colocation: { notWith: ["l1"] } }, [["colocation.notWith[0]", "a lease cannot name itself in colocation.notWith"]]],
    ["with and notWith overlapping", { ...base, colocation: { with: ["a", "b"], notWith: ["b"] } },
      [["colocation.notWith[0]", '"b" is in both colocation.with and colocation.notWith']]],
    ["a repeated colocation name", { ...base, colocation: { with: ["a", "a"] } }, [["colocation.with[1]", '"a" is listed twice in colocation.with']]],
    ["a too-short activity window", { ...base, renewal: { activityWindow: "500ms" } },
      [["renewal.activityWindow", 'an activity window of "500ms" is too short to renew on: use at least 1s, or set enabled: false']]],
    ["an image off the allowlist", { ...base, image: "evil:latest" },
      [["image", 'image "evil:latest" is not on the allowlist (triton:*): leave image out for the default, or ask an operator to allow it']]],
    ["a typo in a field name", { ...base, minDuraton: "1h" }, [["minDuraton", 'unknown field "minDuraton": did you mean "minDuration"?']]],
    ["a bad tenant", { ...base, tenant: "Team A" }, [["tenant", `"Team A" is not a valid name: it has uppercase letters (use lowercase); it has " " (only lowercase letters, digits and '-' are allowed)`]]],
    ["not an object", "l1", [["", 'a lease spec must be an object with at least name and models, not "l1"']]],
  ])("reports %s", (_, input, expected) => {
    expect(problems(input, { ...opts, imageAllowlist: ["triton:*"] })).toEqual(expected);
  });

  it("reports field problems and cross-field problems together", () => {
    const found = problems({
      name: "Bad_Name", models: ["simple", "simple"], resources: { gpuMemory: "4Gb", gpus: 1, gpuMilli: 10 },
      minDuration: "30", autoscaling: { metric: "rps", target: 1, minReplicas: 3, maxReplicas: 2 }, colocation: { with: ["x"], notWith: ["x"] },
    }).map(([path]) => path);
    expect(found).toEqual(["name", "models[1]", "resources.gpuMemory", "resources.gpuMilli", "minDuration", "autoscaling.maxReplicas", "colocation.notWith[0]"]);
  });

  it("the error says how many problems and lists them", () => {
    const result = validateLeaseSpec({ name: "l", models: ["m"], resources: { gpuMemory: "4Gb" }, minDuration: "30" }, opts);
    expect(Either.isLeft(result) && result.left._tag).toBe("SpecErrors");
    expect(Either.isLeft(result) && result.left.message).toBe([
      "the lease spec has 2 problems:",
      'resources.gpuMemory: "4Gb" is not a quantity: write G for powers of 1000 or Gi for powers of 1024 (e.g. 4G or 4Gi)',
      'minDuration: "30" has no unit: write 30s, 30m or 30h',
    ].join("\n"));
  });

  it("encodes to the friendly form and decodes back", () => {
    const spec = ok({ ...base, pool: "p1", quota: "6Gi", labels: { a: "b" } });
    const encoded = encodeLeaseSpec(spec);
    expect(encoded).toMatchObject({ pool: "p1", quota: "6Gi", resources: { gpuMemory: "4Gi", cpu: "1", memory: "2Gi" }, minDuration: "30m", models: ["simple@demo"] });
    expect(Schema.decodeUnknownSync(leaseSpecFromInput())(Schema.encodeSync(leaseSpecFromInput())(spec))).toEqual(spec);
  });
});
