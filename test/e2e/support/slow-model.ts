// A model that takes milliseconds, for tests whose subject is a queue at the replica (the
// autoscaler's metric): `simple` answers in ~0.3 ms, so on a quiet machine the router and the
// load generator saturate before any queue forms at the model server. `slow_mlp` broadcasts a
// 64-vector to ROWS rows and runs LAYERS rounds of tanh(h · W) over them (ROWS x 64 x 64
// multiply-adds per round), then averages the rows back into one 64-vector: small requests and
// answers, ~5 ms of compute on one core of this machine (measured: 0.68 ms for 1,024 rows x 8
// rounds). Every row is the same vector, so the answer is one row's chain, which `slowExpected`
// computes without ONNX Runtime.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeOnnxModel, formatModelConfig, OnnxDataType, onnxConfig, rawData, requiredTensor, type ModelConfig, type OnnxNode } from "@berth/repository";

export const SLOW_MODEL = "slow_mlp";
const WIDTH = 64;
const ROWS = 2_048;
const LAYERS = 32;

const weights = (): Float32Array => Float32Array.from({ length: WIDTH * WIDTH }, (_, i) => (((i * 7) % 13) - 6) / 40);

function slowOnnx(): Uint8Array {
  const nodes: OnnxNode[] = [{ opType: "Expand", inputs: ["X", "ROWS"], outputs: ["h0"] }];
  for (let k = 0; k < LAYERS; k++) {
    nodes.push({ opType: "MatMul", inputs: [`h${k}`, "W"], outputs: [`m${k}`] });
    nodes.push({ opType: "Tanh", inputs: [`m${k}`], outputs: [`h${k + 1}`] });
  }
  nodes.push({
    opType: "ReduceMean",
    inputs: [`h${LAYERS}`],
    outputs: ["Y"],
    attributes: [{ name: "axes", kind: "ints", value: [0] }, { name: "keepdims", kind: "int", value: 0 }],
  });
  return encodeOnnxModel({
    name: SLOW_MODEL,
    nodes,
    inputs: [{ name: "X", elemType: OnnxDataType.FLOAT, shape: [WIDTH] }],
    outputs: [{ name: "Y", elemType: OnnxDataType.FLOAT, shape: [WIDTH] }],
    initializers: [
      { name: "W", dataType: OnnxDataType.FLOAT, dims: [WIDTH, WIDTH], rawData: rawData(weights()) },
      { name: "ROWS", dataType: OnnxDataType.INT64, dims: [2], rawData: rawData(BigInt64Array.of(BigInt(ROWS), BigInt(WIDTH))) },
    ],
  });
}

const slowConfig = (): ModelConfig => onnxConfig(SLOW_MODEL, 0, [requiredTensor("X", "FP32", [WIDTH])], [requiredTensor("Y", "FP32", [WIDTH])]);

/** Writes a repository holding only `slow_mlp` into `dir`, in Triton's layout. */
export async function writeSlowRepository(dir: string): Promise<void> {
  await mkdir(join(dir, SLOW_MODEL, "1"), { recursive: true });
  await writeFile(join(dir, SLOW_MODEL, "config.pbtxt"), formatModelConfig(slowConfig()));
  await writeFile(join(dir, SLOW_MODEL, "1", "model.onnx"), slowOnnx());
}

export const slowInput = (seed: number): number[] => Array.from({ length: WIDTH }, (_, i) => (((i * 5 + seed * 11) % 29) - 14) / 14);

/** What `slow_mlp` answers for `x`: one row's chain, in float64 (ONNX Runtime differs by float32 rounding). */
export function slowExpected(x: readonly number[]): number[] {
  const w = weights();
  let h = [...x];
  for (let k = 0; k < LAYERS; k++) {
    h = Array.from({ length: WIDTH }, (_, j) => Math.tanh(h.reduce((s, v, i) => s + v * w[i * WIDTH + j]!, 0)));
  }
  return h;
}

/** One `slow_mlp` inference over KServe v2 HTTP at `base`: the status and Y. */
export async function inferSlow(base: string, seed: number): Promise<{ status: number; y?: number[] }> {
  const x = slowInput(seed);
  const response = await fetch(`${base}/v2/models/${SLOW_MODEL}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "X", shape: [WIDTH], datatype: "FP32", data: x }] }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json().catch(() => ({}))) as { outputs?: { name: string; data: number[] }[] };
  const y = body.outputs?.find((o) => o.name === "Y")?.data;
  return { status: response.status, ...(y !== undefined ? { y } : {}) };
}
