// What Berth's policy expects a node state to waste, against a forecast of the pods to come.
// Three terms, in milli-GPU (lower is better):
// - FGD's fragmentation (Weng et al., ATC'23): for each forecast shape, weighted by its share
//   of arrivals, the free milli-GPU it could not use on the node (all of it when one pod of the
//   shape does not fit at all);
// - the idle end of each GPU: the milli-GPU its free share is expected to keep once pods that
//   fit have filled it (`leftoverTable`), so a share goes where it completes a GPU;
// - the feed shortfall: free GPUs that the node's free CPU and memory cannot feed at the
//   forecast's CPU and memory per GPU, as milli-GPU.
import { MILLI_PER_GPU } from "../../../units.js";
import type { ClusterIndex } from "../../cluster-index.js";
import { modelMask } from "../../request.js";

/** A pod shape of the expected workload with its share of arrivals (weights need not sum to 1). */
export interface WorkloadShape {
  readonly cpu: number;
  readonly memory: number;
  /** Per GPU: 0 for CPU-only shapes, below 1000 a share of one GPU, 1000 whole GPUs. */
  readonly gpuMilli: number;
  readonly gpuCount: number;
  readonly gpuModels?: readonly string[];
  readonly weight: number;
}

/** How much each term counts (see BerthOptions for the measurements behind the defaults). */
export interface ForecastWeights {
  readonly leftover: number;
  /** Per arrival, the chance that a GPU's free share is never offered another pod. */
  readonly leftoverHazard: number;
  readonly feed: number;
}

/** The forecast in flat arrays, with model masks compiled against one cluster index. */
export interface Forecast {
  readonly cpu: Float64Array;
  readonly memory: Float64Array;
  readonly milli: Float64Array;
  readonly count: Int32Array;
  /** Share of arrivals, normalised over the shapes kept. */
  readonly weight: Float64Array;
  readonly models: readonly (Uint8Array | undefined)[];
  /** Expected idle milli-GPU at the end, by free milli-GPU of one GPU (0..1000). */
  readonly leftover: Float64Array;
  /** Mean CPU and memory per whole GPU asked, over the GPU shapes (0: no GPU shapes). */
  readonly cpuPerGpu: number;
  readonly memoryPerGpu: number;
  readonly leftoverWeight: number;
  readonly feedWeight: number;
}

/**
 * leftover[f]: a GPU with f milli free is offered the next arriving pod that fits it (shape m
 * with probability w_m); with probability `hazard` per arrival its chance has gone (the cluster
 * filled up elsewhere). So leftover[f] = (hazard f + sum over shapes that fit of
 * w_m leftover[f - need_m]) / (hazard + sum of those w_m): 190 free stays mostly idle (only rare
 * pods of 160 milli or less fit), 530 free is mostly filled by a 470-milli pod (60 left).
 */
export const leftoverTable = (shapes: readonly WorkloadShape[], hazard: number): Float64Array => {
  const table = new Float64Array(MILLI_PER_GPU + 1);
  const total = shapes.reduce((t, s) => t + s.weight, 0) || 1;
  const needs = shapes.filter((s) => s.gpuCount > 0 && s.gpuMilli > 0 && s.weight > 0).map((s) => ({ need: Math.round(s.gpuMilli), weight: s.weight / total }));
  for (let f = 0; f <= MILLI_PER_GPU; f++) {
    let fits = 0;
    let filled = 0;
    for (const { need, weight } of needs) {
      if (need <= f) {
        fits += weight;
        filled += weight * table[f - need];
      }
    }
    table[f] = fits > 0 ? (hazard * f + filled) / (fits + hazard) : f;
  }
  return table;
};

export const compileForecast = (shapes: readonly WorkloadShape[], ix: ClusterIndex, w: ForecastWeights): Forecast => {
  // CPU-only shapes stay in: all free GPU is fragment to them (as in FGD), which moves the
  // measure's level and so which integer score bin a placement falls in.
  const kept = shapes.filter((s) => s.weight > 0);
  const total = kept.reduce((t, s) => t + s.weight, 0) || 1;
  let cpu = 0;
  let memory = 0;
  let gpus = 0;
  for (const s of kept) {
    if (s.gpuCount === 0 || s.gpuMilli === 0) continue;
    cpu += s.weight * s.cpu;
    memory += s.weight * s.memory;
    gpus += (s.weight * s.gpuCount * s.gpuMilli) / MILLI_PER_GPU;
  }
  return {
    cpu: Float64Array.from(kept, (s) => s.cpu),
    memory: Float64Array.from(kept, (s) => s.memory),
    milli: Float64Array.from(kept, (s) => (s.gpuCount > 0 ? s.gpuMilli : 0)),
    count: Int32Array.from(kept, (s) => (s.gpuMilli > 0 ? s.gpuCount : 0)),
    weight: Float64Array.from(kept, (s) => s.weight / total),
    models: kept.map((s) => modelMask(s.gpuModels, ix)),
    leftover: leftoverTable(kept, w.leftoverHazard),
    cpuPerGpu: gpus > 0 ? cpu / gpus : 0,
    memoryPerGpu: gpus > 0 ? memory / gpus : 0,
    leftoverWeight: w.leftover,
    feedWeight: w.feed,
  };
};

/**
 * Expected waste of a node state: its GPUs' free milli-GPU (`free[0..free.length)`, GPU models
 * at `ix.gpuModel[start + j]`), free CPU and memory.
 */
export const expectedWaste = (f: Forecast, ix: ClusterIndex, start: number, free: Float64Array, cpuFree: number, memFree: number): number => {
  const n = free.length;
  let left = 0;
  for (let j = 0; j < n; j++) left += free[j];
  if (left === 0) return 0;
  let waste = 0;
  for (let m = 0; m < f.weight.length; m++) {
    const k = f.count[m];
    if (k === 0 || cpuFree < f.cpu[m] || memFree < f.memory[m]) {
      waste += f.weight[m] * left;
      continue;
    }
    const need = f.milli[m];
    const mask = f.models[m];
    let usable = 0;
    let hosts = 0;
    for (let j = 0; j < n; j++) {
      if (free[j] >= need && (mask === undefined || mask[ix.gpuModel[start + j]] === 1)) {
        usable += free[j];
        hosts += 1;
      }
    }
    waste += f.weight[m] * (hosts >= k ? left - usable : left);
  }
  if (f.leftoverWeight !== 0) {
    let idle = 0;
    for (let j = 0; j < n; j++) idle += f.leftover[Math.round(free[j])];
    waste += f.leftoverWeight * idle;
  }
  if (f.feedWeight !== 0 && f.cpuPerGpu > 0) {
    let fed = cpuFree / f.cpuPerGpu;
    if (f.memoryPerGpu > 0) fed = Math.min(fed, memFree / f.memoryPerGpu);
    const unfed = left / MILLI_PER_GPU - fed;
    if (unfed > 0) waste += f.feedWeight * MILLI_PER_GPU * unfed;
  }
  return waste;
};
