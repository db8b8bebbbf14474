// Checks an inference request against the model's config.pbtxt before any data is decoded,
// with Triton's rules and wording: known input names, every required input present, the
// declared datatype, and the shape (batch dimension first when max_batch_size > 0).
import type { ModelConfig, ModelTensorConfig } from "@berth/repository/config-pbtxt";
import { kserveDatatypeOf } from "./datatypes.js";
import { invalidArgument } from "./errors.js";

/** What validation needs of an input: its metadata, not its data. */
export interface InputHeader {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

const shapeText = (s: readonly number[]) => `[${s.join(",")}]`;

function dimsMatch(expected: readonly number[], actual: readonly number[]): boolean {
  return expected.length === actual.length && expected.every((d, i) => d === -1 || d === actual[i]);
}

/** Returns the request's batch size (1 for models without a batch dimension). */
export function validateRequest(config: ModelConfig, inputs: readonly InputHeader[], outputs: readonly string[]): number {
  const model = config.name;
  const declared = new Map<string, ModelTensorConfig>(config.input.map((t) => [t.name, t]));
  const seen = new Set<string>();
  for (const input of inputs) {
    if (!declared.has(input.name)) {
      throw invalidArgument(
        `unexpected inference input '${input.name}' for model '${model}', allowed inputs are: ${config.input.map((t) => t.name).join(", ")}`,
      );
    }
    if (seen.has(input.name)) throw invalidArgument(`input '${input.name}' is given more than once for model '${model}'`);
    seen.add(input.name);
  }
  const missing = config.input.filter((t) => !t.optional && !seen.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    const required = config.input.filter((t) => !t.optional).length;
    throw invalidArgument(
      `expected ${required} inputs but got ${inputs.length} inputs for model '${model}'. ` +
        `Got input(s) [${inputs.map((i) => `'${i.name}'`).join(", ")}], but missing required input(s) [${missing.map((m) => `'${m}'`).join(", ")}]. Please provide all required input(s).`,
    );
  }
  const outputNames = new Set(config.output.map((t) => t.name));
  for (const o of outputs) {
    if (!outputNames.has(o)) throw invalidArgument(`unexpected inference output '${o}' for model '${model}'`);
  }

  let batchSize: number | undefined;
  for (const input of inputs) {
    const spec = declared.get(input.name)!;
    const expectedType = kserveDatatypeOf(spec.dataType);
    if (input.datatype !== expectedType) {
      throw invalidArgument(
        `inference input '${input.name}' data-type is '${input.datatype}', but model '${model}' expects '${expectedType ?? spec.dataType}'`,
      );
    }
    if (input.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw invalidArgument(`inference input '${input.name}' has an invalid shape ${shapeText(input.shape)}`);
    }
    let dims = input.shape;
    if (config.maxBatchSize > 0) {
      if (dims.length === 0) throw invalidArgument(`inference input '${input.name}' has no batch dimension for model '${model}'`);
      const batch = dims[0];
      if (batch < 1 || batch > config.maxBatchSize) {
        throw invalidArgument(`inference request batch-size must be <= ${config.maxBatchSize} for '${model}'`);
      }
      if (batchSize !== undefined && batch !== batchSize) {
        throw invalidArgument(`inputs of model '${model}' disagree on the batch size (${batchSize} and ${batch})`);
      }
      batchSize = batch;
      dims = dims.slice(1);
    }
    if (!dimsMatch(spec.dims, dims)) {
      const expected = config.maxBatchSize > 0 ? [-1, ...spec.dims] : spec.dims;
      throw invalidArgument(
        `unexpected shape for input '${input.name}' for model '${model}'. Expected ${shapeText(expected)}, got ${shapeText(input.shape)}`,
      );
    }
  }
  return batchSize ?? 1;
}
