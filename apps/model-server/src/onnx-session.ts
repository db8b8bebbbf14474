// ONNX Runtime, wrapped once: open a model file, run it on HostTensors, release it. ORT's own
// tensors and errors stay inside this file.
import { stat } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { Data } from "effect";
import { kserveDatatypeOfOrt, ORT_TYPE } from "./datatypes.js";
import type { HostTensor, NumericData } from "./tensor-codec.js";

export class OnnxRuntimeError extends Data.TaggedError("OnnxRuntimeError")<{
  readonly stage: "load" | "run";
  readonly message: string;
}> {}

/** What opening a model cost, as far as this process can see. */
export interface SessionMemory {
  /** Size of the model file on disk. */
  readonly fileBytes: number;
  /**
   * Growth of this process's resident set across session creation, clamped at 0. It includes
   * ORT's arenas and whatever else the process allocated meanwhile, so it is an estimate.
   */
  readonly rssDeltaBytes: number;
}

/** Outputs of one execution and how long each phase took, in nanoseconds. */
export interface RunResult {
  readonly outputs: HostTensor[];
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly memory: SessionMemory;
  /** Runs the model; `outputs` selects which outputs to compute (all when empty). */
  run(inputs: readonly HostTensor[], outputs: readonly string[]): Promise<RunResult>;
  release(): Promise<void>;
}

export interface OnnxSessionOptions {
  /** Threads ORT may use inside one operator (0: ORT's default). */
  readonly intraOpThreads?: number;
}

function toOrtTensor(t: HostTensor): ort.Tensor {
  const dims = [...t.shape];
  if (t.datatype === "BYTES") {
    const decoder = new TextDecoder();
    return new ort.Tensor("string", (t.data as Uint8Array[]).map((e) => decoder.decode(e)), dims);
  }
  return new ort.Tensor(ORT_TYPE[t.datatype] as "float32", t.data as Float32Array, dims);
}

function fromOrtTensor(name: string, t: ort.Tensor): HostTensor {
  const datatype = kserveDatatypeOfOrt(t.type);
  if (datatype === undefined) {
    throw new OnnxRuntimeError({ stage: "run", message: `output '${name}' has type ${t.type}, which the KServe protocol cannot carry` });
  }
  const shape = t.dims.map(Number);
  if (datatype === "BYTES") {
    const encoder = new TextEncoder();
    return { name, datatype, shape, data: (t.data as string[]).map((s) => encoder.encode(s)) };
  }
  return { name, datatype, shape, data: t.data as NumericData };
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function openOnnxSession(modelFile: string, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const fileBytes = await stat(modelFile).then((s) => s.size, () => 0);
  const rssBefore = process.memoryUsage.rss();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelFile, {
      executionProviders: ["cpu"],
      ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    });
  } catch (e) {
    throw new OnnxRuntimeError({ stage: "load", message: errorMessage(e) });
  }
  const rssDeltaBytes = Math.max(0, process.memoryUsage.rss() - rssBefore);
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    memory: { fileBytes, rssDeltaBytes },
    async run(inputs, outputs) {
      const t0 = process.hrtime.bigint();
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of inputs) feeds[t.name] = toOrtTensor(t);
      const fetches = outputs.length > 0 ? [...outputs] : [...session.outputNames];
      const t1 = process.hrtime.bigint();
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run(feeds, fetches);
      } catch (e) {
        throw new OnnxRuntimeError({ stage: "run", message: errorMessage(e) });
      }
      const t2 = process.hrtime.bigint();
      const converted = fetches.map((name) => fromOrtTensor(name, results[name] as ort.Tensor));
      const t3 = process.hrtime.bigint();
      return {
        outputs: converted,
        computeInputNs: Number(t1 - t0),
        computeInferNs: Number(t2 - t1),
        computeOutputNs: Number(t3 - t2),
      };
    },
    release: () => session.release(),
  };
}
