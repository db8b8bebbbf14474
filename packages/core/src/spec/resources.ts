import { Schema } from "effect";
import type { Resources } from "./types.js";
import type { Issues, SpecPath } from "./issues.js";
import { BytesFromQuantity, MilliCpuFromQuantity } from "./quantity.js";
import { Count, Word, wholeNumber } from "./numbers.js";
import { DEFAULT_CPU, DEFAULT_GPU_MILLI, DEFAULT_MEMORY, MAX_GPUS } from "./defaults.js";
import { MILLI_PER_GPU } from "../units.js";

/** Resources as users write them: quantities as strings (`4Gi`, `500m`) or numbers (bytes, cores). */
export interface ResourcesInput {
  readonly gpuMemory?: string | number;
  readonly gpus?: number;
  readonly gpuMilli?: number;
  readonly cpu?: string | number;
  readonly memory?: string | number;
  readonly gpuModels?: readonly string[];
}

export const RESOURCE_FIELDS = ["gpuMemory", "gpus", "gpuMilli", "cpu", "memory", "gpuModels"] as const;

/** The decoded shape, as a Schema (for storing decoded specs). */
export const ResourcesSchema = Schema.Struct({
  gpuMemory: Count,
  gpus: Count,
  gpuMilli: Count,
  cpu: Count,
  memory: Count,
  gpuModels: Schema.Array(Schema.String),
});

const Gpus = wholeNumber("gpus", 0, MAX_GPUS);
const GpuMilli = wholeNumber("gpuMilli (thousandths of one GPU)", 0, MILLI_PER_GPU);
const GpuModel = Word("a GPU model");

export interface ResourceDefaults {
  readonly gpus: number;
  /** GPU memory when the user gives none; undefined makes `gpuMemory` required, with this message. */
  readonly gpuMemory: number | { readonly missing: string };
}

/** Read `resources` (absent = all defaults) at `path`; every problem goes into `issues`. */
export const readResources = (value: unknown, path: SpecPath, issues: Issues, defaults: ResourceDefaults): Resources | undefined => {
  const object = issues.object(value ?? {}, path, RESOURCE_FIELDS, "resources");
  if (object === undefined) return undefined;
  const before = issues.list.length;
  const gpuMemory = typeof defaults.gpuMemory === "number"
    ? issues.optional(object, "gpuMemory", BytesFromQuantity, path, defaults.gpuMemory)
    : issues.required(object, "gpuMemory", BytesFromQuantity, path, defaults.gpuMemory.missing);
  const gpus = issues.optional(object, "gpus", Gpus, path, defaults.gpus);
  const gpuMilli = issues.optional(object, "gpuMilli", GpuMilli, path, DEFAULT_GPU_MILLI);
  const cpu = issues.optional(object, "cpu", MilliCpuFromQuantity, path, DEFAULT_CPU);
  const memory = issues.optional(object, "memory", BytesFromQuantity, path, DEFAULT_MEMORY);
  const gpuModels = issues.array(object, "gpuModels", GpuModel, path, "gpuModels");
  if (gpus !== undefined && gpuMilli !== undefined && gpus > 0 && gpuMilli > 0) {
    issues.add([...path, "gpuMilli"], gpuMilli, `gpus and gpuMilli cannot both be set: ask for ${gpus} whole GPU${gpus === 1 ? "" : "s"} or a share of one GPU (gpuMilli), not both`);
  }
  if (gpuModels !== undefined) {
    const seen = new Set<string>();
    gpuModels.forEach((model, index) => {
      if (seen.has(model)) issues.add([...path, "gpuModels", index], model, `${JSON.stringify(model)} is listed twice`);
      seen.add(model);
    });
  }
  if (issues.list.length > before) return undefined;
  return { gpuMemory: gpuMemory!, gpus: gpus!, gpuMilli: gpuMilli!, cpu: cpu!, memory: memory!, gpuModels: gpuModels! };
};

/** The user form of decoded resources, every field written out. */
export const encodeResources = (r: Resources): Required<ResourcesInput> => ({
  gpuMemory: Schema.encodeSync(BytesFromQuantity)(r.gpuMemory),
  gpus: r.gpus,
  gpuMilli: r.gpuMilli,
  cpu: Schema.encodeSync(MilliCpuFromQuantity)(r.cpu),
  memory: Schema.encodeSync(BytesFromQuantity)(r.memory),
  gpuModels: [...r.gpuModels],
});
