// Reads Triton's config.pbtxt (a ModelConfig message in protobuf text format) into a typed
// ModelConfig. Only the fields Berth acts on are typed; others are accepted and ignored, as
// Triton's own parser would keep them. Field names and enum names follow model_config.proto.
import { Data } from "effect";
import { parseTextFormat, TextFormatError, type TextMessage, type TextValue } from "./text-format.js";

/** Triton's data types (model_config.proto DataType without the TYPE_ prefix). */
export const MODEL_DATA_TYPES = [
  "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
  "FP16", "FP32", "FP64", "STRING", "BF16",
] as const;
export type ModelDataType = (typeof MODEL_DATA_TYPES)[number];

export interface ModelTensorConfig {
  readonly name: string;
  readonly dataType: ModelDataType;
  /** Dimensions without the batch dimension; -1 is a variable dimension. */
  readonly dims: readonly number[];
  /** `reshape { shape: [...] }`: read so it is not lost, not applied by the ONNX model server. */
  readonly reshape?: readonly number[];
  readonly optional: boolean;
}

export type InstanceGroupKind = "KIND_AUTO" | "KIND_GPU" | "KIND_CPU" | "KIND_MODEL";

export interface InstanceGroupConfig {
  readonly name?: string;
  readonly count: number;
  readonly kind: InstanceGroupKind;
  readonly gpus: readonly number[];
}

export type VersionPolicy =
  | { readonly kind: "latest"; readonly numVersions: number }
  | { readonly kind: "all" }
  | { readonly kind: "specific"; readonly versions: readonly number[] };

export interface ModelConfig {
  readonly name: string;
  readonly platform: string;
  readonly backend: string;
  /** 0 means the model takes no batch dimension; >0 means its first dimension is the batch, up to this size. */
  readonly maxBatchSize: number;
  readonly input: readonly ModelTensorConfig[];
  readonly output: readonly ModelTensorConfig[];
  readonly instanceGroup: readonly InstanceGroupConfig[];
  readonly versionPolicy: VersionPolicy;
  readonly defaultModelFilename: string;
  /** Free-form `parameters { key: "k" value { string_value: "v" } }` entries. */
  readonly parameters: ReadonlyMap<string, string>;
}

export class ModelConfigError extends Data.TaggedError("ModelConfigError")<{
  readonly message: string;
  /** Where in the file, when the fault is a syntax error. */
  readonly line?: number;
  readonly column?: number;
}> {}

const fail = (message: string): never => {
  throw new ModelConfigError({ message });
};

function values(message: TextMessage, field: string): readonly TextValue[] {
  return message.fields.get(field) ?? [];
}

function single(message: TextMessage, field: string): TextValue | undefined {
  const list = values(message, field);
  if (list.length > 1) fail(`field '${field}' is given ${list.length} times but is not repeated`);
  return list[0];
}

function asString(value: TextValue, field: string): string {
  if (value.kind !== "string") fail(`field '${field}' must be a string`);
  return (value as { value: string }).value;
}

function asInteger(value: TextValue, field: string): number {
  if (value.kind !== "number") fail(`field '${field}' must be an integer`);
  const text = (value as { text: string }).text;
  const n = /^-?0[xX]/.test(text) ? Number.parseInt(text, 16) : Number(text);
  if (!Number.isSafeInteger(n)) fail(`field '${field}' must be an integer, got ${text}`);
  return n;
}

function asBool(value: TextValue, field: string): boolean {
  if (value.kind === "identifier" && (value.name === "true" || value.name === "True" || value.name === "t")) return true;
  if (value.kind === "identifier" && (value.name === "false" || value.name === "False" || value.name === "f")) return false;
  if (value.kind === "number" && (value.text === "1" || value.text === "0")) return value.text === "1";
  return fail(`field '${field}' must be true or false`);
}

function asEnum<T extends string>(value: TextValue, field: string, allowed: readonly T[]): T {
  if (value.kind !== "identifier" || !(allowed as readonly string[]).includes(value.name)) {
    fail(`field '${field}' must be one of ${allowed.join(", ")}`);
  }
  return (value as { name: string }).name as T;
}

function asMessage(value: TextValue, field: string): TextMessage {
  if (value.kind !== "message") fail(`field '${field}' must be a message`);
  return value as TextMessage;
}

const stringField = (m: TextMessage, f: string, d: string): string => {
  const v = single(m, f);
  return v === undefined ? d : asString(v, f);
};
const integerField = (m: TextMessage, f: string, d: number): number => {
  const v = single(m, f);
  return v === undefined ? d : asInteger(v, f);
};
const boolField = (m: TextMessage, f: string, d: boolean): boolean => {
  const v = single(m, f);
  return v === undefined ? d : asBool(v, f);
};
const integers = (m: TextMessage, f: string): number[] => values(m, f).map((v) => asInteger(v, f));
const messages = (m: TextMessage, f: string): TextMessage[] => values(m, f).map((v) => asMessage(v, f));

const TYPE_NAMES = MODEL_DATA_TYPES.map((t) => `TYPE_${t}`);

function readTensor(m: TextMessage, field: "input" | "output"): ModelTensorConfig {
  const name = stringField(m, "name", "");
  if (name === "") fail(`every ${field} needs a name`);
  const typeValue = single(m, "data_type");
  if (typeValue === undefined) fail(`${field} '${name}' needs a data_type`);
  const dataType = asEnum(typeValue!, "data_type", TYPE_NAMES).slice("TYPE_".length) as ModelDataType;
  const dims = integers(m, "dims");
  if (dims.some((d) => d < -1 || d === 0)) fail(`${field} '${name}' has an invalid dims ${JSON.stringify(dims)}`);
  const reshapeMessage = single(m, "reshape");
  const reshape = reshapeMessage === undefined ? undefined : integers(asMessage(reshapeMessage, "reshape"), "shape");
  return {
    name,
    dataType,
    dims,
    ...(reshape === undefined ? {} : { reshape }),
    optional: boolField(m, "optional", false),
  };
}

function readInstanceGroup(m: TextMessage): InstanceGroupConfig {
  const name = single(m, "name");
  const kindValue = single(m, "kind");
  return {
    ...(name === undefined ? {} : { name: asString(name, "name") }),
    count: integerField(m, "count", 1),
    kind: kindValue === undefined ? "KIND_AUTO" : asEnum(kindValue, "kind", ["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"] as const),
    gpus: integers(m, "gpus"),
  };
}

function readVersionPolicy(m: TextMessage | undefined): VersionPolicy {
  if (m === undefined) return { kind: "latest", numVersions: 1 };
  const latest = single(m, "latest");
  if (latest !== undefined) return { kind: "latest", numVersions: integerField(asMessage(latest, "latest"), "num_versions", 1) };
  if (single(m, "all") !== undefined) return { kind: "all" };
  const specific = single(m, "specific");
  if (specific !== undefined) return { kind: "specific", versions: integers(asMessage(specific, "specific"), "versions") };
  return { kind: "latest", numVersions: 1 };
}

function readParameters(m: TextMessage): Map<string, string> {
  // `parameters` is a map<string, ModelParameter>: each entry is { key: ..., value { string_value: ... } }.
  const out = new Map<string, string>();
  for (const entry of messages(m, "parameters")) {
    const key = stringField(entry, "key", "");
    const value = single(entry, "value");
    out.set(key, value === undefined ? "" : stringField(asMessage(value, "value"), "string_value", ""));
  }
  return out;
}

/** The default model file name Triton looks for in a version directory, by platform/backend. */
export function defaultModelFilenameFor(platform: string, backend: string): string {
  const key = backend !== "" ? backend : platform;
  switch (key) {
    case "onnxruntime":
    case "onnxruntime_onnx":
      return "model.onnx";
    case "pytorch":
    case "pytorch_libtorch":
      return "model.pt";
    case "tensorflow":
    case "tensorflow_savedmodel":
      return "model.savedmodel";
    case "tensorflow_graphdef":
      return "model.graphdef";
    case "tensorrt":
    case "tensorrt_plan":
      return "model.plan";
    case "python":
      return "model.py";
    default:
      return "model";
  }
}

/** Platforms Triton knows by name, and the backend each implies. */
const PLATFORM_BACKENDS: Record<string, string> = {
  onnxruntime_onnx: "onnxruntime",
  pytorch_libtorch: "pytorch",
  tensorflow_savedmodel: "tensorflow",
  tensorflow_graphdef: "tensorflow",
  tensorrt_plan: "tensorrt",
};

/**
 * The server group (framework family) of a model: servers of different groups never share a
 * GPU. It is the backend, named by `backend` or implied by `platform`.
 */
export function modelGroup(config: Pick<ModelConfig, "platform" | "backend">): string {
  if (config.backend !== "") return config.backend;
  return PLATFORM_BACKENDS[config.platform] ?? config.platform;
}

/**
 * Reads a config.pbtxt. `directoryName` is the model's directory: Triton requires the `name`
 * field, when given, to match it, and uses it when the field is absent.
 */
export function parseModelConfig(source: string, directoryName?: string): ModelConfig {
  let root: TextMessage;
  try {
    root = parseTextFormat(source);
  } catch (e) {
    if (e instanceof TextFormatError) {
      throw new ModelConfigError({ message: `config.pbtxt:${e.line}:${e.column}: ${e.message}`, line: e.line, column: e.column });
    }
    throw e;
  }
  const name = stringField(root, "name", directoryName ?? "");
  if (name === "") fail("the model config needs a name");
  if (directoryName !== undefined && name !== directoryName) {
    fail(`model name '${name}' in config.pbtxt does not match its directory '${directoryName}'`);
  }
  const platform = stringField(root, "platform", "");
  const backend = stringField(root, "backend", "");
  if (platform === "" && backend === "") fail(`model '${name}' names neither a platform nor a backend`);
  const maxBatchSize = integerField(root, "max_batch_size", 0);
  if (maxBatchSize < 0) fail(`max_batch_size must not be negative, got ${maxBatchSize}`);
  const input = messages(root, "input").map((m) => readTensor(m, "input"));
  const output = messages(root, "output").map((m) => readTensor(m, "output"));
  for (const list of [input, output]) {
    const seen = new Set<string>();
    for (const t of list) {
      if (seen.has(t.name)) fail(`tensor '${t.name}' is declared twice`);
      seen.add(t.name);
    }
  }
  const policy = single(root, "version_policy");
  return {
    name,
    platform,
    backend,
    maxBatchSize,
    input,
    output,
    instanceGroup: messages(root, "instance_group").map(readInstanceGroup),
    versionPolicy: readVersionPolicy(policy === undefined ? undefined : asMessage(policy, "version_policy")),
    defaultModelFilename: stringField(root, "default_model_filename", defaultModelFilenameFor(platform, backend)),
    parameters: readParameters(root),
  };
}

/**
 * Writes a ModelConfig as config.pbtxt text (the demo repository writer uses it). Version
 * policy and parameters are not written: the demo models keep the defaults.
 */
export function formatModelConfig(config: ModelConfig): string {
  const lines: string[] = [`name: ${JSON.stringify(config.name)}`];
  if (config.platform !== "") lines.push(`platform: ${JSON.stringify(config.platform)}`);
  if (config.backend !== "") lines.push(`backend: ${JSON.stringify(config.backend)}`);
  lines.push(`max_batch_size: ${config.maxBatchSize}`);
  const list = (field: string, items: string[][]): void => {
    if (items.length === 0) return;
    lines.push(`${field} [`);
    items.forEach((body, i) => lines.push("  {", ...body.map((l) => `    ${l}`), i === items.length - 1 ? "  }" : "  },"));
    lines.push("]");
  };
  const tensor = (t: ModelTensorConfig): string[] => [
    `name: ${JSON.stringify(t.name)}`,
    `data_type: TYPE_${t.dataType}`,
    `dims: [ ${t.dims.join(", ")} ]`,
    ...(t.reshape === undefined ? [] : [`reshape: { shape: [ ${t.reshape.join(", ")} ] }`]),
    ...(t.optional ? ["optional: true"] : []),
  ];
  list("input", config.input.map(tensor));
  list("output", config.output.map(tensor));
  list(
    "instance_group",
    config.instanceGroup.map((g) => [`count: ${g.count}`, `kind: ${g.kind}`, ...(g.gpus.length > 0 ? [`gpus: [ ${g.gpus.join(", ")} ]`] : [])]),
  );
  if (config.defaultModelFilename !== defaultModelFilenameFor(config.platform, config.backend)) {
    lines.push(`default_model_filename: ${JSON.stringify(config.defaultModelFilename)}`);
  }
  return lines.join("\n") + "\n";
}
