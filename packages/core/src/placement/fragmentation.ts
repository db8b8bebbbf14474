// The FGD paper's node fragmentation: the expected free milli-GPU on a node that a pod drawn
// from the target workload could not use (utils.NodeGpuShareFragAmountScore in the paper's
// simulator). For each workload type, weighted by its popularity:
// - a CPU-only type: all free GPU counts (the simulator sums its XL/XR classes too);
// - a type that cannot run on the node (too little CPU or memory, no GPU of its model, not
//   enough GPUs with room): all free GPU is fragment;
// - otherwise, the free milli-GPU on GPUs that cannot host it (too little free, or a model the
//   type may not use) is fragment.
// Memory is checked beside CPU (the simulator looks at CPU only; openb memory rarely binds).
import type { ClusterIndex } from "./cluster-index.js";
import { modelMask } from "./request.js";
import type { TargetWorkload } from "./workload.js";

/** The workload as flat arrays over one cluster's model ids. */
export interface CompiledWorkload {
  readonly size: number;
  readonly cpu: Float64Array;
  readonly memory: Float64Array;
  readonly milli: Float64Array;
  readonly count: Int32Array;
  readonly weight: Float64Array;
  readonly models: readonly (Uint8Array | undefined)[];
  /** Sum of the weights. */
  readonly totalWeight: number;
}

export const compileWorkload = (w: TargetWorkload, ix: ClusterIndex): CompiledWorkload => {
  const types = w.types;
  const n = types.length;
  const out = {
    size: n,
    cpu: new Float64Array(n),
    memory: new Float64Array(n),
    milli: new Float64Array(n),
    count: new Int32Array(n),
    weight: new Float64Array(n),
    models: types.map((t) => modelMask(t.gpuModels, ix)),
    totalWeight: 0,
  };
  for (let t = 0; t < n; t++) {
    const ty = types[t];
    out.cpu[t] = ty.cpu;
    out.memory[t] = ty.memory;
    out.milli[t] = ty.gpu.kind === "share" ? ty.gpu.milli : ty.gpu.kind === "whole" ? 1000 : 0;
    out.count[t] = ty.gpu.kind === "share" ? 1 : ty.gpu.kind === "whole" ? ty.gpu.count : 0;
    out.weight[t] = ty.weight;
    out.totalWeight += ty.weight;
  }
  return out;
};

/**
 * Fragmentation of a node state given as: free milli per GPU (`free[0..gpus)`), the GPUs'
 * model ids (`model[0..gpus)`), free CPU and memory.
 */
export const nodeFragmentation = (
  w: CompiledWorkload,
  free: Float64Array,
  model: Int32Array,
  gpus: number,
  cpuFree: number,
  memFree: number,
): number => {
  let total = 0;
  for (let j = 0; j < gpus; j++) total += free[j];
  if (total === 0) return 0;
  let frag = 0;
  for (let t = 0; t < w.size; t++) {
    const k = w.count[t];
    if (k === 0 || cpuFree < w.cpu[t] || memFree < w.memory[t]) {
      frag += w.weight[t] * total;
      continue;
    }
    const need = w.milli[t];
    const mask = w.models[t];
    let hosts = 0;
    let usable = 0;
    for (let j = 0; j < gpus; j++) {
      const f = free[j];
      if (f >= need && (mask === undefined || mask[model[j]] === 1)) {
        hosts += 1;
        usable += f;
      }
    }
    frag += w.weight[t] * (hosts >= k ? total - usable : total);
  }
  return frag;
};
