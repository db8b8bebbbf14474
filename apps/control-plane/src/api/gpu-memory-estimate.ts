import type { Bytes, LeaseSpecInput, ModelFacts, ModelRef } from "@berth/core";

// A bespoke lease may leave out gpuMemory: `berth lease create demo -m simple --wait` must
// just work. berthd then declares a first guess from the models' sizes in the repository;
// the memory the sidecar measures after load replaces it for placement (see core/decide).

const MiB = 1024 * 1024;
/** No server fits in less (runtime, CUDA context, buffers). */
export const MIN_ESTIMATE: Bytes = 256 * MiB;
/** Weights plus activations and runtime overhead: ONNX Runtime and Triton need about twice the file size. */
export const SIZE_FACTOR = 2;

/** Rounded up to whole MiB so the declared figure reads cleanly (`512Mi`). */
export const estimateGpuMemory = (facts: readonly ModelFacts[]): Bytes => {
  const total = facts.reduce((sum, f) => sum + (f.size ?? 0), 0) * SIZE_FACTOR;
  return Math.max(MIN_ESTIMATE, Math.ceil(total / MiB) * MiB);
};

/** True when the input is a bespoke lease that names models but no GPU memory. */
export const needsGpuMemoryEstimate = (input: LeaseSpecInput): boolean => {
  const resources = input.resources as { gpuMemory?: unknown } | undefined;
  return input.pool === undefined && resources?.gpuMemory === undefined && Array.isArray(input.models) && input.models.length > 0;
};

/** The model refs of a Create request's input (objects, as `leaseSpecInput` makes them); undefined when any is malformed (validation will say why). */
export const modelRefsOf = (input: LeaseSpecInput, defaultRepository: string | undefined): ModelRef[] | undefined => {
  const refs: ModelRef[] = [];
  for (const m of input.models as readonly unknown[]) {
    const object = m as { name?: unknown; version?: unknown; repository?: unknown } | null;
    if (object === null || typeof object !== "object" || typeof object.name !== "string" || object.name === "") return undefined;
    const repository = typeof object.repository === "string" && object.repository !== "" ? object.repository : defaultRepository;
    if (repository === undefined) return undefined;
    refs.push({ name: object.name, repository, ...(typeof object.version === "number" ? { version: object.version } : {}) });
  }
  return refs;
};
