import { describe, expect, it } from "vitest";
import { Either } from "effect";
import { encodePoolSpec, validatePoolSpec, validateServerTemplate } from "../../src/spec/index.js";
import { GiB } from "../../src/units.js";

const problems = (input: unknown) =>
  Either.match(validatePoolSpec(input, { imageAllowlist: ["triton:*"] }), { onLeft: (e) => e.problems.map((p) => [p.path, p.message]), onRight: () => [] });
const template = { image: "triton:24.01", resources: { gpuMemory: "16Gi" }, group: "onnxruntime" };

describe("pool specs and server templates", () => {
  it("fills in the defaults", () => {
    expect(Either.getOrThrow(validatePoolSpec({ name: "p1", template: { resources: { gpuMemory: "16Gi" } } }))).toEqual({
      name: "p1",
      template: { image: "", group: "", resources: { gpuMemory: 16 * GiB, gpus: 1, gpuMilli: 0, cpu: 1000, memory: 2 * GiB, gpuModels: [] } },
      minInstances: 1, maxInstances: 1, quotaPerInstance: 16 * GiB,
    });
  });

  it("reads the friendly form and encodes back to it", () => {
    const spec = Either.getOrThrow(validatePoolSpec({ name: "p1", template, minInstances: 0, maxInstances: 4, quota: "8Gi" }));
    expect(spec.quotaPerInstance).toBe(8 * GiB);
    expect(encodePoolSpec(spec)).toMatchObject({ quota: "8Gi", minInstances: 0, maxInstances: 4, template: { image: "triton:24.01", resources: { gpuMemory: "16Gi" } } });
    expect(validatePoolSpec(encodePoolSpec(spec))).toEqual(Either.right(spec));
  });

  it.each([
    ["no template", { name: "p" }, [["template", "template is missing: give the instance's image, resources (at least gpuMemory) and group"]]],
    ["no gpuMemory", { name: "p", template: { resources: {} } }, [["template.resources.gpuMemory", "gpuMemory is missing: give the GPU memory of one instance, e.g. 16Gi"]]],
    ["minInstances above maxInstances", { name: "p", template, minInstances: 3, maxInstances: 2 }, [["maxInstances", "maxInstances (2) is below minInstances (3)"]]],
    ["too many instances", { name: "p", template, maxInstances: 65 }, [["maxInstances", "65 is not allowed for maxInstances: use a whole number from 1 to 64"]]],
    ["a quota above the instance", { name: "p", template, quota: "32Gi" }, [["quota", 'quota ("32Gi") is more than an instance\'s GPU memory ("16Gi")']]],
    ["a zero quota", { name: "p", template, quota: 0 }, [["quota", "quota must be more than 0: it is the GPU memory each lease may use on an instance"]]],
    ["a bad group", { name: "p", template: { ...template, group: "ONNX" } },
      [["template.group", `"ONNX" is not a group: use a backend family like onnxruntime or pytorch_libtorch (lowercase letters, digits, '_' and '-')`]]],
    ["an image off the allowlist", { name: "p", template: { ...template, image: "other:1" } },
      [["template.image", 'image "other:1" is not on the allowlist (triton:*): leave image out for the default, or ask an operator to allow it']]],
    ["a typo in the template", { name: "p", template: { ...template, resource: {} } }, [["template.resource", 'unknown field "resource": did you mean "resources"?']]],
  ])("reports %s", (_, input, expected) => {
    expect(problems(input)).toEqual(expected);
  });

  it("validates a server template on its own", () => {
    expect(Either.getOrThrow(validateServerTemplate(template)).resources.gpuMemory).toBe(16 * GiB);
    const result = validateServerTemplate({ resources: { gpuMemory: "16Gi", gpus: 2, gpuMilli: 100 }, image: "has space" });
    expect(Either.isLeft(result) && result.left.problems).toEqual([
      { path: "image", message: '"has space" is not allowed for image: it cannot contain spaces' },
      { path: "resources.gpuMilli", message: "gpus and gpuMilli cannot both be set: ask for 2 whole GPUs or a share of one GPU (gpuMilli), not both" },
    ]);
  });
});
