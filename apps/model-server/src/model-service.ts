// The server's operations, independent of protocol: the HTTP routes and the gRPC service are
// thin translations onto these, so both behave the same (same checks, same errors, same
// statistics).
import type { ModelConfig } from "@berth/repository/config-pbtxt";
import { kserveDatatypeOf } from "./datatypes.js";
import { asServerError, invalidArgument, notFound, ServerError } from "./errors.js";
import type { ModelIndexEntry, ModelRegistry } from "./model-registry.js";
import { OnnxRuntimeError } from "./onnx-session.js";
import type { FailureReason, ModelStatsJson } from "./statistics.js";
import type { HostTensor } from "./tensor-codec.js";
import { validateRequest, type InputHeader } from "./validate.js";

export const SERVER_NAME = "berth-model-server";
export const SERVER_VERSION = "0.1.0";
/** Triton's extension names for what this server implements. */
export const SERVER_EXTENSIONS = ["binary_tensor_data", "statistics", "model_repository", "model_repository(unload_dependents)"] as const;

export interface TensorMetadataJson {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadataJson {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadataJson[];
  outputs: TensorMetadataJson[];
}

/** An input as received: its header for validation, its data decoded only once valid. */
export interface InferInput {
  readonly header: InputHeader;
  decode(): HostTensor;
}

export interface InferRequest {
  readonly model: string;
  readonly version?: string;
  readonly id?: string;
  readonly inputs: readonly InferInput[];
  /** Requested outputs by name; empty means every output of the model. */
  readonly outputs: readonly string[];
}

export interface InferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly outputs: readonly HostTensor[];
}

export interface ModelServiceOptions {
  /** Wall clock for last_inference (ms since the epoch). */
  readonly now?: () => number;
}

function platformOf(config: ModelConfig): string {
  if (config.platform !== "") return config.platform;
  return config.backend === "onnxruntime" ? "onnxruntime_onnx" : config.backend;
}

function failureReason(e: unknown): FailureReason {
  if (e instanceof ServerError && e.code === "InvalidArgument") return "REJECTED";
  if (e instanceof OnnxRuntimeError) return "BACKEND";
  return "OTHER";
}

export class ModelService {
  private readonly now: () => number;

  constructor(
    readonly registry: ModelRegistry,
    options: ModelServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  serverMetadata() {
    return { name: SERVER_NAME, version: SERVER_VERSION, extensions: [...SERVER_EXTENSIONS] };
  }

  private shuttingDown = false;

  /**
   * Ready once started (startup models are loaded before the server listens) and until
   * shutdown begins, as Triton reports it.
   */
  serverReady(): boolean {
    return !this.shuttingDown;
  }

  beginShutdown(): void {
    this.shuttingDown = true;
  }

  modelReady(name: string, version?: string): boolean {
    return this.registry.isReady(name, version);
  }

  modelMetadata(name: string, version?: string): ModelMetadataJson {
    const loaded = this.registry.get(name, version);
    const config = loaded.config;
    const batch = config.maxBatchSize > 0 ? [-1] : [];
    const tensor = (t: ModelConfig["input"][number]): TensorMetadataJson => ({
      name: t.name,
      datatype: kserveDatatypeOf(t.dataType) ?? t.dataType,
      shape: [...batch, ...t.dims],
    });
    const versions = this.registry.loaded().filter((v) => v.model === name).map((v) => String(v.version));
    return { name, versions, platform: platformOf(config), inputs: config.input.map(tensor), outputs: config.output.map(tensor) };
  }

  modelConfig(name: string, version?: string): ModelConfig {
    return this.registry.get(name, version).config;
  }

  async infer(request: InferRequest): Promise<InferResponse> {
    const start = process.hrtime.bigint();
    const loaded = this.registry.get(request.model, request.version);
    const leave = loaded.enter();
    const stats = loaded.stats;
    stats.pending += 1;
    try {
      const batchSize = validateRequest(loaded.config, request.inputs.map((i) => i.header), request.outputs);
      const decodeStart = process.hrtime.bigint();
      const tensors = request.inputs.map((i) => i.decode());
      const decodeNs = Number(process.hrtime.bigint() - decodeStart);
      const queueStart = process.hrtime.bigint();
      const release = await loaded.slots.acquire();
      const queueNs = Number(process.hrtime.bigint() - queueStart);
      let result;
      try {
        result = await loaded.session.run(tensors, request.outputs);
      } finally {
        release();
      }
      stats.recordSuccess(this.now(), batchSize, Number(process.hrtime.bigint() - start), {
        queueNs,
        computeInputNs: decodeNs + result.computeInputNs,
        computeInferNs: result.computeInferNs,
        computeOutputNs: result.computeOutputNs,
      });
      return { model_name: request.model, model_version: String(loaded.version), id: request.id ?? "", outputs: result.outputs };
    } catch (e) {
      stats.recordFailure(this.now(), Number(process.hrtime.bigint() - start), failureReason(e));
      if (e instanceof OnnxRuntimeError) throw invalidArgument(`onnx runtime error: ${e.message}`);
      throw asServerError(e);
    } finally {
      stats.pending -= 1;
      leave();
    }
  }

  index(readyOnly: boolean): Promise<ModelIndexEntry[]> {
    return this.registry.index(readyOnly);
  }

  private requireExplicit(action: string): void {
    if (this.registry.controlMode !== "explicit") {
      throw invalidArgument(`explicit model ${action} is not allowed if model control mode is not EXPLICIT`);
    }
  }

  async load(name: string): Promise<void> {
    this.requireExplicit("load / unload");
    await this.registry.load(name);
  }

  async unload(name: string): Promise<void> {
    this.requireExplicit("load / unload");
    await this.registry.unload(name);
  }

  /** Statistics of one model (all its loaded versions, or the one named) or of every loaded model. */
  statistics(name?: string, version?: string): ModelStatsJson[] {
    if (name === undefined || name === "") return this.registry.loaded().map((v) => v.stats.toJson());
    if (!this.registry.isReady(name, version)) throw notFound(`requested model '${name}' is not available`);
    const versions = this.registry.loaded().filter((v) => v.model === name && (version === undefined || version === "" || String(v.version) === version));
    return versions.map((v) => v.stats.toJson());
  }
}
