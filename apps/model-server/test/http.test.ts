import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MLP_HIDDEN, MLP_INPUTS, MLP_OUTPUTS, mlpWeights } from "@berth/repository/demo/demo-models";
import { metricValue, startDemoServer, type DemoServer } from "./demo-server.js";

let s: DemoServer;

beforeAll(async () => {
  s = await startDemoServer({ loadModels: ["simple", "mlp_fp32", "int64_affine", "bool_not", "bytes_identity"] });
});
afterAll(() => s.stop());

const post = (path: string, body?: unknown) =>
  fetch(`${s.http}${path}`, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

async function inferJson(model: string, body: unknown) {
  const res = await post(`/v2/models/${model}/infer`, body);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

/** A binary-extension request body: JSON header then the blobs. */
function binaryRequest(json: unknown, blobs: Uint8Array[]): { body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([header, ...blobs]), headers: { "Inference-Header-Content-Length": String(header.length) } };
}

/** Splits a binary-extension response into its JSON header and each output's bytes. */
async function binaryResponse(res: Response) {
  const body = Buffer.from(await res.arrayBuffer());
  const headerLength = Number(res.headers.get("inference-header-content-length"));
  const json = JSON.parse(body.subarray(0, headerLength).toString()) as {
    outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size: number } }[];
  };
  let offset = headerLength;
  const blobs = new Map<string, Buffer>();
  for (const o of json.outputs) {
    if (o.parameters?.binary_data_size === undefined) continue;
    blobs.set(o.name, body.subarray(offset, offset + o.parameters.binary_data_size));
    offset += o.parameters.binary_data_size;
  }
  expect(offset).toBe(body.length);
  return { json, blobs };
}

describe("server endpoints", () => {
  it("answers live, ready and server metadata", async () => {
    expect((await fetch(`${s.http}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${s.http}/v2/health/ready`)).status).toBe(200);
    const meta = (await (await fetch(`${s.http}/v2`)).json()) as { name: string; extensions: string[] };
    expect(meta.name).toBe("berth-model-server");
    expect(meta.extensions).toEqual(expect.arrayContaining(["binary_tensor_data", "statistics", "model_repository"]));
  });

  it("returns model metadata with the batch dimension, and the config in Triton's JSON", async () => {
    const meta = await (await fetch(`${s.http}/v2/models/simple`)).json();
    expect(meta).toEqual({
      name: "simple",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [
        { name: "INPUT0", datatype: "INT32", shape: [-1, 16] },
        { name: "INPUT1", datatype: "INT32", shape: [-1, 16] },
      ],
      outputs: [
        { name: "OUTPUT0", datatype: "INT32", shape: [-1, 16] },
        { name: "OUTPUT1", datatype: "INT32", shape: [-1, 16] },
      ],
    });
    const bytes = (await (await fetch(`${s.http}/v2/models/bytes_identity/versions/1`)).json()) as { inputs: unknown[] };
    expect(bytes.inputs).toEqual([{ name: "TEXT", datatype: "BYTES", shape: [-1] }]);
    const config = (await (await fetch(`${s.http}/v2/models/simple/config`)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ name: "simple", max_batch_size: 8, input: [{ name: "INPUT0", data_type: "TYPE_INT32", dims: [16] }, { name: "INPUT1" }] });
  });
});

describe("inference", () => {
  it("`simple` over JSON returns exact sums and differences for a batch of 2", async () => {
    const a = range(32, (i) => i * 1000 - 7);
    const b = range(32, (i) => (i % 5) - 2);
    const { status, json } = await inferJson("simple", {
      id: "req-1",
      inputs: [
        { name: "INPUT0", datatype: "INT32", shape: [2, 16], data: [a.slice(0, 16), a.slice(16)] },
        { name: "INPUT1", datatype: "INT32", shape: [2, 16], data: b },
      ],
    });
    expect(status).toBe(200);
    expect(json).toEqual({
      model_name: "simple",
      model_version: "1",
      id: "req-1",
      outputs: [
        { name: "OUTPUT0", datatype: "INT32", shape: [2, 16], data: a.map((x, i) => x + b[i]) },
        { name: "OUTPUT1", datatype: "INT32", shape: [2, 16], data: a.map((x, i) => x - b[i]) },
      ],
    });
  });

  it("`simple` with binary inputs and outputs, and an output subset", async () => {
    const a = Int32Array.from(range(16, (i) => 2 ** 20 + i));
    const b = Int32Array.from(range(16, (i) => -3 * i));
    const { body, headers } = binaryRequest(
      {
        inputs: [
          { name: "INPUT0", datatype: "INT32", shape: [1, 16], parameters: { binary_data_size: 64 } },
          { name: "INPUT1", datatype: "INT32", shape: [1, 16], parameters: { binary_data_size: 64 } },
        ],
        outputs: [{ name: "OUTPUT1", parameters: { binary_data: true } }],
      },
      [new Uint8Array(a.buffer), new Uint8Array(b.buffer)],
    );
    const res = await fetch(`${s.http}/v2/models/simple/infer`, { method: "POST", body, headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const { json, blobs } = await binaryResponse(res);
    expect(json.outputs.map((o) => o.name)).toEqual(["OUTPUT1"]);
    const out = blobs.get("OUTPUT1")!;
    const diff = new Int32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
    expect(Array.from(diff)).toEqual(Array.from(a, (x, i) => x - b[i]));
  });

  it("binary_data_output returns every output as binary", async () => {
    const { body, headers } = binaryRequest(
      {
        parameters: { binary_data_output: true },
        inputs: [
          { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: range(16, (i) => i) },
          { name: "INPUT1", datatype: "INT32", shape: [1, 16], data: range(16, () => 1) },
        ],
      },
      [],
    );
    const { blobs } = await binaryResponse(await fetch(`${s.http}/v2/models/simple/infer`, { method: "POST", body, headers }));
    expect([...blobs.keys()]).toEqual(["OUTPUT0", "OUTPUT1"]);
    expect(blobs.get("OUTPUT0")!.readInt32LE(15 * 4)).toBe(16);
    expect(blobs.get("OUTPUT1")!.readInt32LE(0)).toBe(-1);
  });

  it("FP32: `mlp_fp32` matches the reference arithmetic", async () => {
    const x = [0.5, -1, 2, 0.25, 3, 0, -2, 1];
    const { status, json } = await inferJson("mlp_fp32", { inputs: [{ name: "INPUT", datatype: "FP32", shape: [2, 4], data: x }] });
    expect(status).toBe(200);
    const { w1, b1, w2, b2 } = mlpWeights();
    const ref = (v: number[]) => {
      const h = range(MLP_HIDDEN, (j) => Math.max(0, b1[j] + range(MLP_INPUTS, (i) => v[i] * w1[i * MLP_HIDDEN + j]).reduce((p, q) => p + q)));
      return range(MLP_OUTPUTS, (k) => b2[k] + range(MLP_HIDDEN, (j) => h[j] * w2[j * MLP_OUTPUTS + k]).reduce((p, q) => p + q));
    };
    const out = (json.outputs as { shape: number[]; data: number[] }[])[0];
    expect(out.shape).toEqual([2, 3]);
    const want = [...ref(x.slice(0, 4)), ...ref(x.slice(4))];
    out.data.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });

  it("INT64: JSON for safe integers, binary for values past 2^53, exact both ways", async () => {
    const { json } = await inferJson("int64_affine", { inputs: [{ name: "X", datatype: "INT64", shape: [3], data: [-5, 0, 2 ** 40] }] });
    expect((json.outputs as { data: number[] }[])[0].data).toEqual([-14, 1, 3 * 2 ** 40 + 1]);

    const big = 2n ** 60n + 3n;
    const { body, headers } = binaryRequest(
      { inputs: [{ name: "X", datatype: "INT64", shape: [1], parameters: { binary_data_size: 8 } }] },
      [new Uint8Array(BigInt64Array.of(big).buffer)],
    );
    const res = await fetch(`${s.http}/v2/models/int64_affine/infer`, { method: "POST", body, headers });
    // JSON output of a value past 2^53 keeps every digit.
    const text = await res.text();
    expect(text).toContain(`"data":[${BigInt.asIntN(64, 3n * big + 1n)}]`);
  });

  it("BOOL and BYTES in JSON and binary", async () => {
    const { json } = await inferJson("bool_not", { inputs: [{ name: "X", datatype: "BOOL", shape: [2, 4], data: [true, false, false, true, false, false, false, true] }] });
    expect((json.outputs as { data: boolean[] }[])[0].data).toEqual([false, true, true, false, true, true, true, false]);

    const strings = await inferJson("bytes_identity", { inputs: [{ name: "TEXT", datatype: "BYTES", shape: [3], data: ["héllo", "", "berth"] }] });
    expect((strings.json.outputs as { datatype: string; data: string[] }[])[0]).toMatchObject({ datatype: "BYTES", data: ["héllo", "", "berth"] });

    const elements = ["ab", "ünï"].map((t) => Buffer.from(t));
    const packed = Buffer.concat(elements.flatMap((e) => [Buffer.from(Uint32Array.of(e.length).buffer), e]));
    const { body, headers } = binaryRequest(
      { inputs: [{ name: "TEXT", datatype: "BYTES", shape: [2], parameters: { binary_data_size: packed.length } }], outputs: [{ name: "TEXT_OUT", parameters: { binary_data: true } }] },
      [packed],
    );
    const { blobs } = await binaryResponse(await fetch(`${s.http}/v2/models/bytes_identity/infer`, { method: "POST", body, headers }));
    expect(blobs.get("TEXT_OUT")).toEqual(packed);
  });
});

describe("validation", () => {
  const simpleInput = (name: string, shape: number[], datatype = "INT32") => ({ name, datatype, shape, data: range(shape.reduce((a, b) => a * b, 1), () => 1) });

  it("rejects wrong shape, wrong datatype, unknown and missing inputs with 400 and Triton's wording", async () => {
    const cases: [unknown, RegExp][] = [
      [{ inputs: [simpleInput("INPUT0", [1, 8]), simpleInput("INPUT1", [1, 8])] }, /unexpected shape for input 'INPUT0' for model 'simple'. Expected \[-1,16\], got \[1,8\]/],
      [{ inputs: [simpleInput("INPUT0", [1, 16], "FP32"), simpleInput("INPUT1", [1, 16])] }, /inference input 'INPUT0' data-type is 'FP32', but model 'simple' expects 'INT32'/],
      [{ inputs: [simpleInput("INPUT0", [1, 16]), simpleInput("INPUT1", [1, 16]), simpleInput("EXTRA", [1, 16])] }, /unexpected inference input 'EXTRA' for model 'simple'/],
      [{ inputs: [simpleInput("INPUT0", [1, 16])] }, /expected 2 inputs but got 1 inputs for model 'simple'.*missing required input\(s\) \['INPUT1'\]/],
      [{ inputs: [simpleInput("INPUT0", [9, 16]), simpleInput("INPUT1", [9, 16])] }, /batch-size must be <= 8 for 'simple'/],
      [{ inputs: [{ ...simpleInput("INPUT0", [1, 16]), data: [1, 2] }, simpleInput("INPUT1", [1, 16])] }, /unexpected number of elements 2 for inference input 'INPUT0', expecting 16/],
      [{ inputs: [{ ...simpleInput("INPUT0", [1, 16]), data: range(16, () => 1.5) }, simpleInput("INPUT1", [1, 16])] }, /not a valid INT32/],
      [{ inputs: [simpleInput("INPUT0", [1, 16]), simpleInput("INPUT1", [1, 16])], outputs: [{ name: "NOPE" }] }, /unexpected inference output 'NOPE'/],
      [{ nothing: true }, /Unable to find 'inputs'/],
    ];
    for (const [body, message] of cases) {
      const { status, json } = await inferJson("simple", body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(json.error).toMatch(message);
    }
    const res = await fetch(`${s.http}/v2/models/simple/infer`, { method: "POST", body: "{not json" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/failed to parse the request JSON/);
  });

  it("answers 404 for an unknown model and for a model that is not loaded", async () => {
    const unknown = await inferJson("nope", { inputs: [] });
    expect(unknown).toEqual({ status: 404, json: { error: "Request for unknown model: 'nope' is not found" } });
    expect((await fetch(`${s.http}/v2/models/nope/ready`)).status).toBe(404);
    expect((await fetch(`${s.http}/v2/models/nope`)).status).toBe(404);
    const unloaded = await inferJson("broken", { inputs: [] });
    expect(unloaded.status).toBe(404);
  });
});

describe("model repository extension", () => {
  it("indexes, unloads and reloads a model", async () => {
    const index = async (ready?: boolean) => (await (await post("/v2/repository/index", ready === undefined ? undefined : { ready })).json()) as { name: string; state?: string; version?: string; reason?: string }[];
    expect((await index()).map((e) => e.name)).toEqual(["bool_not", "broken", "bytes_identity", "int64_affine", "mlp_fp32", "simple"]);
    expect((await index(true)).map((e) => e.name)).toEqual(["bool_not", "bytes_identity", "int64_affine", "mlp_fp32", "simple"]);
    expect((await index()).find((e) => e.name === "broken")).toEqual({ name: "broken" });

    expect((await post("/v2/repository/models/bool_not/unload")).status).toBe(200);
    expect((await fetch(`${s.http}/v2/models/bool_not/ready`)).status).toBe(400);
    expect((await index()).find((e) => e.name === "bool_not")).toEqual({ name: "bool_not", version: "1", state: "UNAVAILABLE", reason: "unloaded" });
    expect((await inferJson("bool_not", { inputs: [] })).json.error).toBe("Request for unknown model: 'bool_not' has no available versions");
    // Unloading again is not an error, as in Triton.
    expect((await post("/v2/repository/models/bool_not/unload")).status).toBe(200);

    expect((await post("/v2/repository/models/bool_not/load")).status).toBe(200);
    expect((await fetch(`${s.http}/v2/models/bool_not/ready`)).status).toBe(200);
    expect((await post("/v2/repository/models/absent/load")).status).toBe(404);
  });

  it("fails to load `broken` with ONNX Runtime's message and reports it in the index", async () => {
    const res = await post("/v2/repository/models/broken/load");
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: string };
    expect(error).toMatch(/^load failed for model 'broken': version 1 is at UNAVAILABLE state: Load model from .*model\.onnx failed:Protobuf parsing failed/);
    const index = (await (await post("/v2/repository/index")).json()) as { name: string; state?: string; reason?: string }[];
    expect(index.find((e) => e.name === "broken")).toMatchObject({ state: "UNAVAILABLE", reason: error });
  });
});

describe("statistics and metrics", () => {
  it("count successes, failures, inferences and executions the same way in stats and /metrics", async () => {
    // A fresh load resets the counters, as a Triton reload does.
    expect((await post("/v2/repository/models/simple/load")).status).toBe(200);
    const body = (batch: number) => ({
      inputs: ["INPUT0", "INPUT1"].map((name) => ({ name, datatype: "INT32", shape: [batch, 16], data: range(16 * batch, (i) => i) })),
    });
    for (const batch of [1, 3, 3]) expect((await inferJson("simple", body(batch))).status).toBe(200);
    expect((await inferJson("simple", { inputs: [] })).status).toBe(400);

    const stats = (await (await fetch(`${s.http}/v2/models/simple/stats`)).json()) as { model_stats: Record<string, any>[] };
    expect(stats.model_stats).toHaveLength(1);
    const m = stats.model_stats[0];
    expect(m).toMatchObject({ name: "simple", version: "1", inference_count: 7, execution_count: 3 });
    expect(m.inference_stats.success.count).toBe(3);
    expect(m.inference_stats.fail.count).toBe(1);
    expect(m.inference_stats.compute_infer.count).toBe(3);
    expect(m.inference_stats.compute_infer.ns).toBeGreaterThan(0);
    expect(m.batch_stats.map((b: { batch_size: number; compute_infer: { count: number } }) => [b.batch_size, b.compute_infer.count])).toEqual([[1, 1], [3, 2]]);
    expect(m.last_inference).toBeGreaterThan(Date.now() - 60_000);
    expect(m.memory_usage[0]).toMatchObject({ type: "CPU", id: 0 });
    expect(m.memory_usage[0].byte_size).toBeGreaterThan(0);

    const all = (await (await fetch(`${s.http}/v2/models/stats`)).json()) as { model_stats: { name: string }[] };
    expect(all.model_stats.map((x) => x.name)).toContain("mlp_fp32");
    expect((await fetch(`${s.http}/v2/models/broken/stats`)).status).toBe(404);

    const text = await (await fetch(s.metrics)).text();
    const labels = { model: "simple", version: "1" };
    expect(metricValue(text, "nv_inference_request_success", labels)).toBe(3);
    expect(metricValue(text, "nv_inference_request_failure", { ...labels, reason: "REJECTED" })).toBe(1);
    expect(metricValue(text, "nv_inference_request_failure", { ...labels, reason: "BACKEND" })).toBe(0);
    expect(metricValue(text, "nv_inference_count", labels)).toBe(7);
    expect(metricValue(text, "nv_inference_exec_count", labels)).toBe(3);
    expect(metricValue(text, "nv_inference_compute_infer_duration_us", labels)).toBe(Math.floor(m.inference_stats.compute_infer.ns / 1000));
    expect(metricValue(text, "nv_inference_queue_duration_us", labels)).toBe(Math.floor(m.inference_stats.queue.ns / 1000));
    expect(metricValue(text, "berth_model_memory_bytes", { ...labels, kind: "file" })).toBeGreaterThan(100);
    expect(text).toContain("# TYPE nv_inference_request_success counter");
    expect(metricValue(text, "nv_inference_count", { model: "broken", version: "1" })).toBeUndefined();
  });
});
