import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadKServeService, modelFieldNumber } from "../src/grpc-proxy.js";
import { readStringField, WireFormatError } from "../src/wire-field.js";

const service = loadKServeService();
const infer = service.ModelInfer;

describe("readStringField", () => {
  it("finds the model by the field number the proto gives", () => {
    expect(modelFieldNumber(infer)).toBe(1);
    expect(modelFieldNumber(service.ModelReady)).toBe(1);
    expect(modelFieldNumber(service.RepositoryModelLoad)).toBe(2);
    expect(modelFieldNumber(service.ServerLive)).toBeUndefined();
  });

  it("reads model_name from any ModelInferRequest the real encoder writes, tensors and all", () => {
    const tensor = fc.record({
      name: fc.string(),
      datatype: fc.constantFrom("INT32", "FP32", "BYTES"),
      shape: fc.array(fc.integer({ min: 0, max: 1 << 20 }), { maxLength: 4 }),
      contents: fc.record({ int_contents: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 20 }), fp32_contents: fc.array(fc.float({ noNaN: true }), { maxLength: 5 }) }),
    });
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.string(),
        fc.array(tensor, { maxLength: 3 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 3 }),
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), { nil: undefined }),
        (model, id, inputs, raw, priority) => {
          const bytes = infer.requestSerialize({
            model_name: model,
            id,
            inputs,
            raw_input_contents: raw.map((r) => Buffer.from(r)),
            parameters: priority === undefined ? {} : { priority: { int64_param: priority.toString() } },
          });
          const read = readStringField(bytes, 1);
          expect(read ?? "").toBe(model);
        },
      ),
    );
  });

  it("rejects truncated messages instead of reading past them", () => {
    const bytes = infer.requestSerialize({ model_name: "simple", raw_input_contents: [Buffer.alloc(100)] });
    expect(() => readStringField(bytes.subarray(0, bytes.length - 10), 1)).toThrow(WireFormatError);
    expect(() => readStringField(Uint8Array.from([0x0b]), 1)).toThrow(WireFormatError);
  });
});
