// `berth pool create` flags -> the PoolSpec message, checked first with the core's
// validatePoolSpec (every problem at once, exit 3). Loaded only when pool create runs.
import { Either } from "effect";
import { validatePoolSpec } from "@berth/core/spec/validate";
import type { Input, PoolSpec } from "@berth/api/berth";
import type { Flags } from "../command.js";
import { specRejected } from "./print.js";

const defined = (object: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));

export const checkedPoolSpec = (name: string, f: Flags): Input<PoolSpec> => {
  const gpuModels = f.list("gpu-model");
  const resources = defined({
    gpuMemory: f.string("gpu-memory"), gpus: f.int("gpus"), gpuMilli: f.int("gpu-milli"), cpu: f.string("cpu"), memory: f.string("memory"),
    gpuModels: gpuModels.length > 0 ? gpuModels : undefined,
  });
  // The core's input nests the instance template; the proto flattens it.
  const input = defined({
    name,
    template: defined({ image: f.string("image"), group: f.string("group"), resources }),
    minInstances: f.int("min-instances"),
    maxInstances: f.int("max-instances"),
    quota: f.string("quota"),
  });
  const checked = validatePoolSpec(input);
  if (Either.isLeft(checked)) throw specRejected(checked.left);
  return {
    name,
    image: f.string("image") ?? "",
    group: f.string("group") ?? "",
    resources: {
      gpuMemory: f.string("gpu-memory") ?? "", gpus: f.int("gpus") ?? 0, gpuMilli: f.int("gpu-milli") ?? 0,
      cpu: f.string("cpu") ?? "", memory: f.string("memory") ?? "", gpuModels,
    },
    // 0 and "" are proto3's "not given": berthd applies the spec's defaults.
    minInstances: f.int("min-instances") ?? 0,
    maxInstances: f.int("max-instances") ?? 0,
    quotaPerInstance: f.string("quota") ?? "",
  };
};
