import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatModelConfig, modelGroup, ModelConfigError, parseModelConfig, type ModelConfig } from "../src/config-pbtxt.js";
import { parseTextFormat, TextFormatError, type TextMessage } from "../src/text-format.js";

// Triton's quickstart `simple` (docs/examples/model_repository/simple/config.pbtxt), verbatim layout.
const TRITON_SIMPLE = `
name: "simple"
platform: "tensorflow_graphdef"
max_batch_size: 8
input [
  {
    name: "INPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  },
  {
    name: "INPUT1"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
]
output [
  {
    name: "OUTPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  },
  {
    name: "OUTPUT1"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
]
`;

// densenet_onnx style: backend instead of platform, reshape, label file, comments, instance groups.
const DENSENET = `
# A classification model
name: "densenet_onnx"
backend: "onnxruntime"   # ONNX Runtime backend
max_batch_size : 0
input [
  {
    name: "data_0"
    data_type: TYPE_FP32
    format: FORMAT_NCHW
    dims: [ 3, 224, 224 ]
    reshape { shape: [ 1, 3, 224, 224 ] }
  }
]
output [
  {
    name: "fc6_1"
    data_type: TYPE_FP32
    dims: [ 1000 ]
    reshape { shape: [ 1, 1000, 1, 1 ] }
    label_filename: "densenet_labels.txt"
  }
]
instance_group [ { count: 2, kind: KIND_GPU, gpus: [ 0, 1 ] }, { kind: KIND_CPU } ]
version_policy: { specific { versions: [1, 3] } }
dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 }
parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
parameters: { key: 'note' value { string_value: "a \\"quoted\\" \\x41 \\101" } }
`;

describe("parseModelConfig", () => {
  it("reads Triton's quickstart simple config", () => {
    const c = parseModelConfig(TRITON_SIMPLE, "simple");
    expect(c.name).toBe("simple");
    expect(c.platform).toBe("tensorflow_graphdef");
    expect(c.backend).toBe("");
    expect(c.maxBatchSize).toBe(8);
    expect(c.input.map((t) => [t.name, t.dataType, t.dims])).toEqual([["INPUT0", "INT32", [16]], ["INPUT1", "INT32", [16]]]);
    expect(c.output.map((t) => t.name)).toEqual(["OUTPUT0", "OUTPUT1"]);
    expect(c.versionPolicy).toEqual({ kind: "latest", numVersions: 1 });
    expect(c.defaultModelFilename).toBe("model.graphdef");
    expect(modelGroup(c)).toBe("tensorflow");
  });

  it("reads backend, reshape, instance groups, version policy, parameters and ignores what it does not model", () => {
    const c = parseModelConfig(DENSENET);
    expect(c.backend).toBe("onnxruntime");
    expect(modelGroup(c)).toBe("onnxruntime");
    expect(c.maxBatchSize).toBe(0);
    expect(c.input[0]).toEqual({ name: "data_0", dataType: "FP32", dims: [3, 224, 224], reshape: [1, 3, 224, 224], optional: false });
    expect(c.output[0].reshape).toEqual([1, 1000, 1, 1]);
    expect(c.instanceGroup).toEqual([
      { count: 2, kind: "KIND_GPU", gpus: [0, 1] },
      { count: 1, kind: "KIND_AUTO", gpus: [] },
    ].map((g, i) => (i === 1 ? { ...g, kind: "KIND_CPU" } : g)));
    expect(c.versionPolicy).toEqual({ kind: "specific", versions: [1, 3] });
    expect(c.parameters.get("intra_op_thread_count")).toBe("2");
    expect(c.parameters.get("note")).toBe('a "quoted" A A');
    expect(c.defaultModelFilename).toBe("model.onnx");
  });

  it("accepts repeated fields written one by one, TYPE_STRING, and a name taken from the directory", () => {
    const c = parseModelConfig(
      `platform: "onnxruntime_onnx"
       input { name: "a" data_type: TYPE_STRING dims: -1 }
       input { name: "b" data_type: TYPE_BOOL dims: [2] dims: [3] optional: true }`,
      "dir_name",
    );
    expect(c.name).toBe("dir_name");
    expect(c.input).toEqual([
      { name: "a", dataType: "STRING", dims: [-1], optional: false },
      { name: "b", dataType: "BOOL", dims: [2, 3], optional: true },
    ]);
  });

  it("rejects what Triton rejects, with a message that says what", () => {
    const bad = (src: string, dir?: string) => () => parseModelConfig(src, dir);
    expect(bad(`name: "a" platform: "onnxruntime_onnx"`, "b")).toThrow(/does not match its directory 'b'/);
    expect(bad(`name: "a"`)).toThrow(/neither a platform nor a backend/);
    expect(bad(`name: "a" platform: "x" input { name: "i" data_type: TYPE_NOPE dims: [1] }`)).toThrow(/'data_type' must be one of TYPE_BOOL/);
    expect(bad(`name: "a" platform: "x" input { name: "i" dims: [1] }`)).toThrow(/needs a data_type/);
    expect(bad(`name: "a" platform: "x" max_batch_size: 1.5`)).toThrow(/must be an integer/);
    expect(bad(`name: "a" platform: "x" max_batch_size: 1 max_batch_size: 2`)).toThrow(/not repeated/);
    expect(bad(`name: "a" platform: "x" input [{ name: "i" data_type: TYPE_FP32 dims: [1] }, { name: "i" data_type: TYPE_FP32 dims: [1] }]`)).toThrow(/declared twice/);
    expect(bad(`name: "a" platform: "x" input [ { name: "i" `)).toThrow(ModelConfigError);
  });

  it("reports syntax errors with line and column", () => {
    try {
      parseModelConfig(`name: "a"\nplatform "x"\n`);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ModelConfigError);
      expect((e as ModelConfigError).line).toBe(2);
      expect((e as ModelConfigError).message).toMatch(/config.pbtxt:2:10: expected ':' or '\{' after field 'platform'/);
    }
  });
});

describe("parseTextFormat", () => {
  it("handles comments, separators, angle brackets, numbers and adjacent strings", () => {
    const m = parseTextFormat(`a: 1; b: -2.5e3, c < d: "x" "y" > e: [] f: 0x1F # trailing\ng: inf`);
    expect(m.fields.get("a")).toEqual([{ kind: "number", text: "1" }]);
    expect(m.fields.get("b")).toEqual([{ kind: "number", text: "-2.5e3" }]);
    expect(m.fields.get("c")?.[0]).toMatchObject({ kind: "message" });
    const c = m.fields.get("c")![0] as TextMessage;
    expect(c.fields.get("d")).toEqual([{ kind: "string", value: "xy" }]);
    expect(m.fields.get("e")).toEqual([]);
    expect(m.fields.get("f")).toEqual([{ kind: "number", text: "0x1F" }]);
    expect(m.fields.get("g")).toEqual([{ kind: "identifier", name: "inf" }]);
  });

  it("rejects unterminated strings and stray characters", () => {
    expect(() => parseTextFormat(`a: "x`)).toThrow(TextFormatError);
    expect(() => parseTextFormat(`a: 1 }`)).toThrow(/expected a field name but found '}'/);
    expect(() => parseTextFormat(`a: @`)).toThrow(/unexpected character/);
  });
});

describe("formatModelConfig", () => {
  const tensorArb = fc.record({
    name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/),
    dataType: fc.constantFrom("BOOL", "INT32", "INT64", "FP32", "STRING" as const),
    dims: fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 64 })), { minLength: 1, maxLength: 4 }),
    optional: fc.boolean(),
  });
  const uniqueTensors = fc.uniqueArray(tensorArb, { selector: (t) => t.name, minLength: 1, maxLength: 4 });

  it("round-trips through parseModelConfig", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/),
        fc.integer({ min: 0, max: 64 }),
        uniqueTensors,
        uniqueTensors,
        fc.array(fc.record({ count: fc.integer({ min: 1, max: 4 }), kind: fc.constantFrom("KIND_CPU", "KIND_GPU" as const), gpus: fc.array(fc.nat(7), { maxLength: 2 }) }), { maxLength: 2 }),
        (name, maxBatchSize, input, output, instanceGroup) => {
          const config: ModelConfig = {
            name, platform: "onnxruntime_onnx", backend: "", maxBatchSize, input, output, instanceGroup,
            versionPolicy: { kind: "latest", numVersions: 1 }, defaultModelFilename: "model.onnx", parameters: new Map(),
          };
          expect(parseModelConfig(formatModelConfig(config), name)).toEqual(config);
        },
      ),
      { numRuns: 200 },
    );
  });
});
