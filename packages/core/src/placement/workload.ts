// The FGD paper's "target workload": the popularity of each pod request type in the trace.
// Built from the requests themselves (data, not I/O), the way the simulator's GetTypicalPods
// does it: count each type (cpu, per-GPU milli, GPU count, GPU models), keep the most popular
// types until they cover `popularityThreshold` percent of the pods (adding `increaseStep`
// types at a time), and renormalise their shares to sum to 1.
import { MILLI_PER_GPU } from "../units.js";
import type { GpuDemand, PlacementRequest } from "./types.js";

export interface WorkloadType {
  readonly cpu: number;
  /** The smallest memory request among the pods of this type. */
  readonly memory: number;
  readonly gpu: GpuDemand;
  readonly gpuModels?: readonly string[];
  /** Share of this type among the kept types (the weights sum to 1). */
  readonly weight: number;
}

export interface TargetWorkload {
  readonly types: readonly WorkloadType[];
}

export interface TargetWorkloadOptions {
  /** Percent of pods the kept types must cover (default 100: all types; 95 reproduces a setting of the simulator that scores FGD far below the published figures). */
  readonly popularityThreshold?: number;
  /** Types added per step while below the threshold; the experiments use 1. */
  readonly increaseStep?: number;
  /** Count CPU-only pods as types (the experiments do). */
  readonly includeCpuOnly?: boolean;
}

interface Tally {
  cpu: number;
  milli: number;
  count: number;
  models: string;
  memory: number;
  gpuMemory: number;
  pods: number;
}

const perGpuMilli = (g: GpuDemand): number => (g.kind === "share" ? g.milli : g.kind === "whole" ? MILLI_PER_GPU : 0);
const gpuCount = (g: GpuDemand): number => (g.kind === "share" ? 1 : g.kind === "whole" ? g.count : 0);

/** The simulator's order of types of equal popularity (PodResource.Less), reversed. */
const lessType = (a: Tally, b: Tally): boolean => {
  if (a.cpu !== b.cpu) return a.cpu < b.cpu;
  if (a.milli !== b.milli) return a.milli < b.milli;
  if (a.count !== b.count) return a.count < b.count;
  return a.models < b.models;
};

export const targetWorkloadFromRequests = (
  requests: readonly PlacementRequest[],
  options: TargetWorkloadOptions = {},
): TargetWorkload => {
  const threshold = options.popularityThreshold ?? 100;
  const step = Math.max(1, options.increaseStep ?? 1);
  const includeCpu = options.includeCpuOnly ?? true;
  const tallies = new Map<string, Tally>();
  let total = 0;
  for (const r of requests) {
    const count = gpuCount(r.gpu);
    if (count === 0 && !includeCpu) continue;
    const milli = perGpuMilli(r.gpu);
    const gpuMemory = r.gpu.kind === "share" ? r.gpu.memory : 0;
    const models = r.gpuModels === undefined ? "" : [...r.gpuModels].sort().join("|");
    const key = `${r.cpu}/${milli}/${count}/${gpuMemory}/${models}`;
    const t = tallies.get(key);
    if (t === undefined) tallies.set(key, { cpu: r.cpu, milli, count, models, memory: r.memory, gpuMemory, pods: 1 });
    else {
      t.pods += 1;
      if (r.memory < t.memory) t.memory = r.memory;
    }
    total += 1;
  }
  const sorted = [...tallies.values()].sort((a, b) => (a.pods !== b.pods ? b.pods - a.pods : lessType(a, b) ? 1 : lessType(b, a) ? -1 : 0));
  const expected = (threshold * total) / 100;
  let kept = 0;
  let covered = 0;
  while (covered < expected && kept < sorted.length) {
    const until = Math.min(sorted.length, kept + step);
    for (; kept < until; kept++) covered += sorted[kept].pods;
  }
  const types = sorted.slice(0, kept).map(
    (t): WorkloadType => ({
      cpu: t.cpu,
      memory: t.memory,
      gpu:
        t.count === 0
          ? { kind: "none" }
          : t.milli < MILLI_PER_GPU
            ? { kind: "share", milli: t.milli, memory: t.gpuMemory }
            : { kind: "whole", count: t.count },
      ...(t.models === "" ? {} : { gpuModels: t.models.split("|") }),
      weight: t.pods / covered,
    }),
  );
  return { types };
};
