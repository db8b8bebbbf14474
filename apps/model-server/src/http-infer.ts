// The KServe v2 HTTP inference body: a JSON request, optionally followed by binary tensor data
// (Triton's binary_tensor_data extension: the JSON length is in Inference-Header-Content-Length
// and each binary input names its byte size in parameters.binary_data_size), and the response
// built the same way when outputs are asked for as binary.
import { isKServeDatatype } from "./datatypes.js";
import { invalidArgument } from "./errors.js";
import type { InferInput, InferRequest, InferResponse } from "./model-service.js";
import { stringifyWithInt64, tensorFromBytes, tensorFromJson, tensorToBytes, tensorToJsonData } from "./tensor-codec.js";

export const INFERENCE_HEADER_CONTENT_LENGTH = "inference-header-content-length";

interface JsonInput {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  data?: unknown;
  parameters?: unknown;
}

interface JsonOutput {
  name?: unknown;
  parameters?: unknown;
}

interface JsonRequest {
  id?: unknown;
  parameters?: unknown;
  inputs?: unknown;
  outputs?: unknown;
}

export interface ParsedHttpInfer {
  readonly request: InferRequest;
  /** Output names the client wants as binary data; `all` when binary_data_output is set. */
  readonly binaryOutputs: ReadonlySet<string> | "all";
  readonly jsonOutputs: ReadonlySet<string>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A `parameters` object, or an empty one when absent or malformed. */
const params = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

/** Parses an infer body for `model` (and `version`, from the URL). */
export function parseHttpInfer(model: string, version: string | undefined, body: Buffer, headerLength: number | undefined): ParsedHttpInfer {
  const jsonLength = headerLength ?? body.length;
  if (!Number.isSafeInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length) {
    throw invalidArgument(`Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`);
  }
  let json: JsonRequest;
  try {
    json = JSON.parse(body.subarray(0, jsonLength).toString("utf8")) as JsonRequest;
  } catch (e) {
    throw invalidArgument(`failed to parse the request JSON buffer: ${(e as Error).message}`);
  }
  if (!isRecord(json)) throw invalidArgument("the request body must be a JSON object");
  if (!Array.isArray(json.inputs)) throw invalidArgument("Unable to find 'inputs' in the request JSON");
  const binary = body.subarray(jsonLength);
  let offset = 0;
  const inputs: InferInput[] = (json.inputs as JsonInput[]).map((raw, index) => {
    if (!isRecord(raw)) throw invalidArgument(`input ${index} must be a JSON object`);
    const name = raw.name;
    if (typeof name !== "string") throw invalidArgument(`input ${index} has no 'name'`);
    const datatype = raw.datatype;
    if (typeof datatype !== "string") throw invalidArgument(`input '${name}' has no 'datatype'`);
    if (!Array.isArray(raw.shape) || !raw.shape.every((d) => typeof d === "number" && Number.isInteger(d))) {
      throw invalidArgument(`input '${name}' needs a 'shape' of integers`);
    }
    const shape = raw.shape as number[];
    const size = params(raw.parameters).binary_data_size;
    let decode: InferInput["decode"];
    if (size !== undefined) {
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw invalidArgument(`input '${name}' has an invalid binary_data_size`);
      if (raw.data !== undefined) throw invalidArgument(`input '${name}' has both 'data' and binary data`);
      if (offset + size > binary.length) {
        throw invalidArgument(`unexpected size for input '${name}', expecting ${size} bytes but only ${binary.length - offset} remain in the body`);
      }
      const bytes = binary.subarray(offset, offset + size);
      offset += size;
      decode = () => tensorFromBytes(name, datatype as never, shape, bytes);
    } else {
      if (raw.data === undefined) throw invalidArgument(`input '${name}' has neither 'data' nor binary_data_size`);
      const data = raw.data;
      decode = () => tensorFromJson(name, datatype as never, shape, data);
    }
    // Decoding needs a known datatype; an unknown one is reported by validation as a mismatch.
    const checked: InferInput["decode"] = () => {
      if (!isKServeDatatype(datatype)) throw invalidArgument(`input '${name}' has unknown datatype '${datatype}'`);
      return decode();
    };
    return { header: { name, datatype, shape }, decode: checked };
  });
  if (offset !== binary.length) {
    throw invalidArgument(`the request has ${binary.length - offset} bytes of binary data that no input claims`);
  }
  const outputs: string[] = [];
  const binaryOutputs = new Set<string>();
  const jsonOutputs = new Set<string>();
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) throw invalidArgument("'outputs' must be an array");
    for (const raw of json.outputs as JsonOutput[]) {
      if (!isRecord(raw) || typeof raw.name !== "string") throw invalidArgument("every requested output needs a 'name'");
      if (params(raw.parameters).classification !== undefined) throw invalidArgument("the classification extension is not supported");
      outputs.push(raw.name);
      if (params(raw.parameters).binary_data === true) binaryOutputs.add(raw.name);
      if (params(raw.parameters).binary_data === false) jsonOutputs.add(raw.name);
    }
  }
  const id = typeof json.id === "string" ? json.id : undefined;
  return {
    request: { model, ...(version === undefined ? {} : { version }), ...(id === undefined ? {} : { id }), inputs, outputs },
    binaryOutputs: params(json.parameters).binary_data_output === true ? "all" : binaryOutputs,
    jsonOutputs,
  };
}

export interface HttpInferBody {
  readonly body: Buffer;
  /** Set when the body carries binary data after the JSON header. */
  readonly headerLength?: number;
}

/** Builds the response body: JSON, then the binary outputs in order. */
export function encodeHttpInfer(response: InferResponse, parsed: ParsedHttpInfer): HttpInferBody {
  const blobs: Uint8Array[] = [];
  const outputs = response.outputs.map((t) => {
    const binary = !parsed.jsonOutputs.has(t.name) && (parsed.binaryOutputs === "all" || parsed.binaryOutputs.has(t.name));
    if (binary) {
      const bytes = tensorToBytes(t);
      blobs.push(bytes);
      return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.length } };
    }
    return { name: t.name, datatype: t.datatype, shape: t.shape, data: tensorToJsonData(t) };
  });
  const header = Buffer.from(
    stringifyWithInt64({
      model_name: response.model_name,
      model_version: response.model_version,
      ...(response.id === "" ? {} : { id: response.id }),
      outputs,
    }),
    "utf8",
  );
  if (blobs.length === 0) return { body: header };
  return { body: Buffer.concat([header, ...blobs]), headerLength: header.length };
}
