// The openb trace (Alibaba cluster-trace-gpu-v2023) as plain records, and its translation into
// Berth's vocabulary (ClusterNode, PlacementRequest). Parsing is separate from file reading so
// tests and workers can parse text they already hold.
import { GiB, MiB, MILLI_PER_GPU, type Bytes } from "@berth/core/units";
import type { ClusterNode, Gpu } from "@berth/core/cluster/types";
import type { GpuDemand, PlacementRequest } from "@berth/core/placement/types";

export interface OpenbNode {
  readonly name: string;
  readonly cpuMilli: number;
  readonly memoryMiB: number;
  readonly gpus: number;
  /** GPU model; empty for CPU-only nodes. */
  readonly model: string;
}

export interface OpenbPod {
  readonly name: string;
  readonly cpuMilli: number;
  readonly memoryMiB: number;
  readonly numGpu: number;
  /** Per GPU: below 1000 is a share of one GPU, 1000 is whole GPUs. */
  readonly gpuMilli: number;
  /** Allowed GPU models; empty means any (multigpu* traces have no such column). */
  readonly gpuSpec: readonly string[];
}

export class OpenbParseError extends Error {
  override readonly name = "OpenbParseError";
}

const rows = (text: string, source: string, required: readonly string[]): { header: Map<string, number>; cells: string[][] } => {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length === 0) throw new OpenbParseError(`${source}: empty file`);
  const names = lines[0].split(",").map((h) => h.trim());
  const header = new Map(names.map((h, i) => [h, i] as const));
  const missing = required.filter((r) => !header.has(r));
  if (missing.length > 0) throw new OpenbParseError(`${source}: missing column(s) ${missing.join(", ")}`);
  return { header, cells: lines.slice(1).map((l) => l.split(",")) };
};

const integer = (value: string | undefined, source: string, line: number, column: string): number => {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isInteger(n) || n < 0) {
    throw new OpenbParseError(`${source}:${line + 2}: ${column} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return n;
};

export const parseNodeList = (text: string, source = "node list"): OpenbNode[] => {
  const { header, cells } = rows(text, source, ["sn", "cpu_milli", "memory_mib", "gpu", "model"]);
  const col = (c: string) => header.get(c)!;
  return cells.map((r, i) => ({
    name: r[col("sn")],
    cpuMilli: integer(r[col("cpu_milli")], source, i, "cpu_milli"),
    memoryMiB: integer(r[col("memory_mib")], source, i, "memory_mib"),
    gpus: integer(r[col("gpu")], source, i, "gpu"),
    model: (r[col("model")] ?? "").trim(),
  }));
};

export const parsePodList = (text: string, source = "pod list"): OpenbPod[] => {
  const { header, cells } = rows(text, source, ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"]);
  const col = (c: string) => header.get(c)!;
  const spec = header.get("gpu_spec");
  return cells.map((r, i) => {
    const numGpu = integer(r[col("num_gpu")], source, i, "num_gpu");
    const gpuMilli = integer(r[col("gpu_milli")], source, i, "gpu_milli");
    if (gpuMilli > MILLI_PER_GPU) throw new OpenbParseError(`${source}:${i + 2}: gpu_milli ${gpuMilli} exceeds ${MILLI_PER_GPU}`);
    const rawSpec = spec === undefined ? "" : (r[spec] ?? "").trim();
    return {
      name: r[col("name")],
      cpuMilli: integer(r[col("cpu_milli")], source, i, "cpu_milli"),
      memoryMiB: integer(r[col("memory_mib")], source, i, "memory_mib"),
      numGpu,
      // A pod without GPUs requests no GPU share, whatever the column says.
      gpuMilli: numGpu === 0 ? 0 : gpuMilli,
      gpuSpec: rawSpec === "" ? [] : [...new Set(rawSpec.split("|").map((s) => s.trim()).filter((s) => s !== ""))],
    };
  });
};

/**
 * GPU memory per model. The trace does not carry it; these are the vendors' figures for the
 * public models, and assumptions for Alibaba's anonymised G2 (taken as a 24 GiB part) and G3
 * (taken as a 32 GiB part). No openb pod requests GPU memory, so these values never bind:
 * milli-GPU is the binding constraint of this experiment.
 */
export const GPU_MEMORY_BY_MODEL: Readonly<Record<string, Bytes>> = {
  P100: 16 * GiB,
  T4: 16 * GiB,
  V100M16: 16 * GiB,
  V100M32: 32 * GiB,
  A10: 24 * GiB,
  G2: 24 * GiB,
  G3: 32 * GiB,
};
const DEFAULT_GPU_MEMORY: Bytes = 16 * GiB;

export const toClusterNode = (node: OpenbNode): ClusterNode => {
  const memory = GPU_MEMORY_BY_MODEL[node.model] ?? DEFAULT_GPU_MEMORY;
  const gpus: Gpu[] = Array.from({ length: node.gpus }, (_, index) => ({ index, model: node.model, memory }));
  return { name: node.name, cpu: node.cpuMilli, memory: node.memoryMiB * MiB, gpus, state: "Ready" };
};

export const gpuDemandOf = (pod: OpenbPod): GpuDemand => {
  if (pod.numGpu === 0 || pod.gpuMilli === 0) return { kind: "none" };
  if (pod.numGpu === 1 && pod.gpuMilli < MILLI_PER_GPU) return { kind: "share", milli: pod.gpuMilli, memory: 0 };
  return { kind: "whole", count: pod.numGpu };
};

export const toPlacementRequest = (pod: OpenbPod, id = pod.name): PlacementRequest => ({
  id,
  cpu: pod.cpuMilli,
  memory: pod.memoryMiB * MiB,
  gpu: gpuDemandOf(pod),
  ...(pod.gpuSpec.length > 0 ? { gpuModels: pod.gpuSpec } : {}),
});

/** Milli-GPU a pod requests in total (what the x-axis of the experiment counts). */
export const podGpuMilli = (pod: OpenbPod): number => pod.numGpu * pod.gpuMilli;

export const clusterGpuMilli = (nodes: readonly OpenbNode[]): number => nodes.reduce((s, n) => s + n.gpus * MILLI_PER_GPU, 0);
