// The models of the `demo` repository: each is its config and its ONNX graph. `simple` has the
// interface of Triton's quickstart model of that name; the others cover the other tensor types
// and a model with weights. Weights are fixed formulas, exported so tests can compute the
// expected answers independently of ONNX Runtime.
import type { ModelConfig, ModelTensorConfig } from "../config-pbtxt.js";
import { encodeOnnxModel, OnnxDataType, rawData, type OnnxGraph } from "./onnx-writer.js";

export interface DemoModel {
  readonly config: ModelConfig;
  /** The bytes of `1/model.onnx`. */
  readonly onnx: Uint8Array;
}

/** A required tensor of a model's config. */
export const requiredTensor = (name: string, dataType: ModelTensorConfig["dataType"], dims: number[]): ModelTensorConfig => ({
  name,
  dataType,
  dims,
  optional: false,
});

/** The config of an ONNX Runtime model with one CPU instance, latest version, `model.onnx` (as the demo models have). */
export const onnxConfig = (
  name: string,
  maxBatchSize: number,
  input: ModelTensorConfig[],
  output: ModelTensorConfig[],
): ModelConfig => ({
  name,
  platform: "onnxruntime_onnx",
  backend: "",
  maxBatchSize,
  input,
  output,
  instanceGroup: [{ count: 1, kind: "KIND_CPU", gpus: [] }],
  versionPolicy: { kind: "latest", numVersions: 1 },
  defaultModelFilename: "model.onnx",
  parameters: new Map(),
});

/** `simple`: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1 on INT32 [batch, 16], batch up to 8. */
function simple(): DemoModel {
  const io = (name: string) => ({ name, elemType: OnnxDataType.INT32, shape: ["batch", 16] });
  const graph: OnnxGraph = {
    name: "simple",
    nodes: [
      { opType: "Add", inputs: ["INPUT0", "INPUT1"], outputs: ["OUTPUT0"], name: "add" },
      { opType: "Sub", inputs: ["INPUT0", "INPUT1"], outputs: ["OUTPUT1"], name: "sub" },
    ],
    inputs: [io("INPUT0"), io("INPUT1")],
    outputs: [io("OUTPUT0"), io("OUTPUT1")],
  };
  return {
    config: onnxConfig(
      "simple",
      8,
      [requiredTensor("INPUT0", "INT32", [16]), requiredTensor("INPUT1", "INT32", [16])],
      [requiredTensor("OUTPUT0", "INT32", [16]), requiredTensor("OUTPUT1", "INT32", [16])],
    ),
    onnx: encodeOnnxModel(graph),
  };
}

export const MLP_INPUTS = 4;
export const MLP_HIDDEN = 8;
export const MLP_OUTPUTS = 3;

/** The fixed weights of `mlp_fp32`, row-major: W1 [4,8], b1 [8], W2 [8,3], b2 [3]. */
export function mlpWeights(): { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array } {
  const w1 = Float32Array.from({ length: MLP_INPUTS * MLP_HIDDEN }, (_, i) => ((i % 7) - 3) / 4);
  const b1 = Float32Array.from({ length: MLP_HIDDEN }, (_, j) => (j - 4) / 8);
  const w2 = Float32Array.from({ length: MLP_HIDDEN * MLP_OUTPUTS }, (_, i) => (((i * 3) % 5) - 2) / 2);
  const b2 = Float32Array.from({ length: MLP_OUTPUTS }, (_, k) => k / 4);
  return { w1, b1, w2, b2 };
}

/** `mlp_fp32`: OUTPUT = relu(INPUT · W1 + b1) · W2 + b2 on FP32 [batch, 4] -> [batch, 3], batch up to 16. */
function mlpFp32(): DemoModel {
  const { w1, b1, w2, b2 } = mlpWeights();
  const f = (name: string, dims: number[], values: Float32Array) => ({ name, dataType: OnnxDataType.FLOAT, dims, rawData: rawData(values) });
  const graph: OnnxGraph = {
    name: "mlp_fp32",
    nodes: [
      { opType: "MatMul", inputs: ["INPUT", "W1"], outputs: ["h0"] },
      { opType: "Add", inputs: ["h0", "B1"], outputs: ["h1"] },
      { opType: "Relu", inputs: ["h1"], outputs: ["h2"] },
      { opType: "MatMul", inputs: ["h2", "W2"], outputs: ["h3"] },
      { opType: "Add", inputs: ["h3", "B2"], outputs: ["OUTPUT"] },
    ],
    initializers: [
      f("W1", [MLP_INPUTS, MLP_HIDDEN], w1),
      f("B1", [MLP_HIDDEN], b1),
      f("W2", [MLP_HIDDEN, MLP_OUTPUTS], w2),
      f("B2", [MLP_OUTPUTS], b2),
    ],
    inputs: [{ name: "INPUT", elemType: OnnxDataType.FLOAT, shape: ["batch", MLP_INPUTS] }],
    outputs: [{ name: "OUTPUT", elemType: OnnxDataType.FLOAT, shape: ["batch", MLP_OUTPUTS] }],
  };
  return {
    config: onnxConfig("mlp_fp32", 16, [requiredTensor("INPUT", "FP32", [MLP_INPUTS])], [requiredTensor("OUTPUT", "FP32", [MLP_OUTPUTS])]),
    onnx: encodeOnnxModel(graph),
  };
}

/** `int64_affine`: Y = 3·X + 1 on INT64 of any length, no batch dimension. */
function int64Affine(): DemoModel {
  const scalar = (name: string, v: bigint) => ({ name, dataType: OnnxDataType.INT64, dims: [], rawData: rawData(BigInt64Array.of(v)) });
  const graph: OnnxGraph = {
    name: "int64_affine",
    nodes: [
      { opType: "Mul", inputs: ["X", "THREE"], outputs: ["scaled"] },
      { opType: "Add", inputs: ["scaled", "ONE"], outputs: ["Y"] },
    ],
    initializers: [scalar("THREE", 3n), scalar("ONE", 1n)],
    inputs: [{ name: "X", elemType: OnnxDataType.INT64, shape: ["n"] }],
    outputs: [{ name: "Y", elemType: OnnxDataType.INT64, shape: ["n"] }],
  };
  return { config: onnxConfig("int64_affine", 0, [requiredTensor("X", "INT64", [-1])], [requiredTensor("Y", "INT64", [-1])]), onnx: encodeOnnxModel(graph) };
}

/** `bool_not`: Y = not X on BOOL [batch, 4], batch up to 4. */
function boolNot(): DemoModel {
  const graph: OnnxGraph = {
    name: "bool_not",
    nodes: [{ opType: "Not", inputs: ["X"], outputs: ["Y"] }],
    inputs: [{ name: "X", elemType: OnnxDataType.BOOL, shape: ["batch", 4] }],
    outputs: [{ name: "Y", elemType: OnnxDataType.BOOL, shape: ["batch", 4] }],
  };
  return { config: onnxConfig("bool_not", 4, [requiredTensor("X", "BOOL", [4])], [requiredTensor("Y", "BOOL", [4])]), onnx: encodeOnnxModel(graph) };
}

/** `bytes_identity`: TEXT_OUT = TEXT on BYTES (TYPE_STRING) of any length, no batch dimension. */
function bytesIdentity(): DemoModel {
  const graph: OnnxGraph = {
    name: "bytes_identity",
    nodes: [{ opType: "Identity", inputs: ["TEXT"], outputs: ["TEXT_OUT"] }],
    inputs: [{ name: "TEXT", elemType: OnnxDataType.STRING, shape: ["n"] }],
    outputs: [{ name: "TEXT_OUT", elemType: OnnxDataType.STRING, shape: ["n"] }],
  };
  return {
    config: onnxConfig("bytes_identity", 0, [requiredTensor("TEXT", "STRING", [-1])], [requiredTensor("TEXT_OUT", "STRING", [-1])]),
    onnx: encodeOnnxModel(graph),
  };
}

/** `broken`: a valid config whose model.onnx is not ONNX, so loading it fails inside ONNX Runtime. */
function broken(): DemoModel {
  return {
    config: onnxConfig("broken", 0, [requiredTensor("X", "FP32", [1])], [requiredTensor("Y", "FP32", [1])]),
    onnx: new TextEncoder().encode("this is not an ONNX model\n"),
  };
}

/** Every demo model by name. */
export function demoModels(): ReadonlyMap<string, DemoModel> {
  return new Map([simple(), mlpFp32(), int64Affine(), boolNot(), bytesIdentity(), broken()].map((m) => [m.config.name, m]));
}
