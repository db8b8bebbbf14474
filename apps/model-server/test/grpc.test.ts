import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKServeClient, type KServeClient } from "@berth/api/kserve";
import { startDemoServer, type DemoServer } from "./demo-server.js";

let s: DemoServer;
let client: KServeClient;

beforeAll(async () => {
  s = await startDemoServer({ loadModels: ["simple", "int64_affine", "bool_not", "mlp_fp32"] });
  client = createKServeClient(s.grpc);
});
afterAll(async () => {
  client.close();
  await s.stop();
});

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const int32Raw = (values: number[]) => Buffer.from(Int32Array.from(values).buffer);
const readInt32 = (b: Uint8Array) => Array.from(new Int32Array(Buffer.from(b).buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));

describe("GRPCInferenceService", () => {
  it("answers live, ready, metadata and model ready", async () => {
    expect(await client.serverLive()).toEqual({ live: true });
    expect(await client.serverReady()).toEqual({ ready: true });
    expect((await client.serverMetadata()).extensions).toContain("model_repository");
    expect(await client.modelReady({ name: "simple" })).toEqual({ ready: true });
    expect(await client.modelReady({ name: "broken" })).toEqual({ ready: false });
    const meta = await client.modelMetadata({ name: "simple" });
    expect(meta.inputs.map((t) => [t.name, t.datatype, t.shape.map(Number)])).toEqual([["INPUT0", "INT32", [-1, 16]], ["INPUT1", "INT32", [-1, 16]]]);
    const config = await client.modelConfig({ name: "simple" });
    expect(config.config).toMatchObject({ name: "simple", max_batch_size: 8, platform: "onnxruntime_onnx" });
    expect(config.config!.input[0]).toMatchObject({ name: "INPUT0", data_type: "TYPE_INT32" });
  });

  it("infers `simple` from raw_input_contents and returns raw_output_contents", async () => {
    const a = range(32, (i) => i * 7 - 100);
    const b = range(32, (i) => 2 ** 24 - i);
    const response = await client.modelInfer({
      model_name: "simple",
      id: "g1",
      inputs: [
        { name: "INPUT0", datatype: "INT32", shape: [2, 16] },
        { name: "INPUT1", datatype: "INT32", shape: [2, 16] },
      ],
      raw_input_contents: [int32Raw(a), int32Raw(b)],
    });
    expect(response).toMatchObject({ model_name: "simple", model_version: "1", id: "g1" });
    expect(response.outputs.map((o) => [o.name, o.datatype, o.shape.map(Number)])).toEqual([["OUTPUT0", "INT32", [2, 16]], ["OUTPUT1", "INT32", [2, 16]]]);
    expect(readInt32(response.raw_output_contents[0])).toEqual(a.map((x, i) => x + b[i]));
    expect(readInt32(response.raw_output_contents[1])).toEqual(a.map((x, i) => x - b[i]));
  });

  it("infers from typed contents: INT32, INT64 (past 2^53), BOOL and FP32", async () => {
    const simple = await client.modelInfer({
      model_name: "simple",
      inputs: ["INPUT0", "INPUT1"].map((name, k) => ({ name, datatype: "INT32", shape: [1, 16], contents: { int_contents: range(16, (i) => i * (k + 1)) } })),
      outputs: [{ name: "OUTPUT0" }],
    });
    expect(simple.outputs.map((o) => o.name)).toEqual(["OUTPUT0"]);
    expect(readInt32(simple.raw_output_contents[0])).toEqual(range(16, (i) => 3 * i));

    const big = 2n ** 55n + 1n;
    const int64 = await client.modelInfer({ model_name: "int64_affine", inputs: [{ name: "X", datatype: "INT64", shape: [2], contents: { int64_contents: [big.toString(), "-2"] } }] });
    const y = int64.raw_output_contents[0];
    expect(Array.from(new BigInt64Array(Buffer.from(y).buffer.slice(y.byteOffset, y.byteOffset + y.byteLength)))).toEqual([3n * big + 1n, -5n]);

    const bools = await client.modelInfer({ model_name: "bool_not", inputs: [{ name: "X", datatype: "BOOL", shape: [1, 4], contents: { bool_contents: [true, true, false, false] } }] });
    expect(Array.from(bools.raw_output_contents[0])).toEqual([0, 0, 1, 1]);

    const fp32 = await client.modelInfer({ model_name: "mlp_fp32", inputs: [{ name: "INPUT", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: [0, 0, 0, 0] } }] });
    const out = fp32.raw_output_contents[0];
    expect(out.byteLength).toBe(12);
    expect(fp32.outputs[0].shape.map(Number)).toEqual([1, 3]);
  });

  it("maps errors to gRPC status codes with the same messages as HTTP", async () => {
    await expect(client.modelInfer({ model_name: "nope", inputs: [] })).rejects.toMatchObject({ code: status.NOT_FOUND, details: "Request for unknown model: 'nope' is not found" });
    await expect(
      client.modelInfer({ model_name: "simple", inputs: [{ name: "INPUT0", datatype: "INT32", shape: [1, 15], contents: { int_contents: range(15, () => 0) } }, { name: "INPUT1", datatype: "INT32", shape: [1, 16], contents: { int_contents: range(16, () => 0) } }] }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/unexpected shape for input 'INPUT0'/) });
    await expect(client.modelMetadata({ name: "broken" })).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it("loads, indexes, unloads and reports statistics", async () => {
    await expect(client.repositoryModelLoad({ model_name: "broken" })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/load failed for model 'broken'.*Protobuf parsing failed/),
    });
    await client.repositoryModelLoad({ model_name: "bytes_identity" });
    const ready = await client.repositoryIndex({ ready: true });
    expect(ready.models.map((m) => m.name)).toEqual(["bool_not", "bytes_identity", "int64_affine", "mlp_fp32", "simple"]);
    await client.repositoryModelUnload({ model_name: "bytes_identity" });
    const index = await client.repositoryIndex({});
    expect(index.models.find((m) => m.name === "bytes_identity")).toEqual({ name: "bytes_identity", version: "1", state: "UNAVAILABLE", reason: "unloaded" });
    expect(index.models.find((m) => m.name === "broken")).toMatchObject({ state: "UNAVAILABLE", reason: expect.stringMatching(/Protobuf parsing failed/) });

    const stats = await client.modelStatistics({ name: "simple" });
    expect(stats.model_stats).toHaveLength(1);
    const m = stats.model_stats[0];
    expect(Number(m.execution_count)).toBe(2);
    expect(Number(m.inference_count)).toBe(3); // batch 2 + batch 1
    expect(Number(m.inference_stats!.fail!.count)).toBe(1);
    expect(m.memory_usage[0].type).toBe("CPU");
  });
});
