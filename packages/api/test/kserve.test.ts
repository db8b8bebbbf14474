import { describe, expect, it } from "vitest";
import { KSERVE_SERVICE_NAME, loadKServeGrpc } from "../src/kserve.js";

describe("the KServe v2 gRPC contract", () => {
  it("defines Triton's service paths for the rpcs Berth implements", () => {
    const { service } = loadKServeGrpc();
    const paths = Object.values(service).map((m) => m.path).sort();
    expect(paths).toEqual(
      ["ModelConfig", "ModelInfer", "ModelMetadata", "ModelReady", "ModelStatistics", "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload", "ServerLive", "ServerMetadata", "ServerReady"]
        .map((m) => `/${KSERVE_SERVICE_NAME}/${m}`)
        .sort(),
    );
  });

  it("encodes ModelInferRequest with Triton's field numbers", () => {
    const infer = loadKServeGrpc().service.ModelInfer;
    const bytes = infer.requestSerialize({ model_name: "m", inputs: [{ name: "x", datatype: "INT32", shape: [1] }], raw_input_contents: [Buffer.from([1])] });
    // model_name = 1 (tag 0x0a), inputs = 5 (tag 0x2a), raw_input_contents = 7 (tag 0x3a).
    expect([...bytes.subarray(0, 3)]).toEqual([0x0a, 1, "m".charCodeAt(0)]);
    expect(bytes.includes(0x2a)).toBe(true);
    expect([...bytes.subarray(bytes.length - 3)]).toEqual([0x3a, 1, 1]);
    const decoded = infer.requestDeserialize(bytes) as { inputs: { shape: string[] }[] };
    expect(decoded.inputs[0].shape).toEqual(["1"]);
  });
});
