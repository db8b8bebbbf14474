import type { ClusterNode, NodeState } from "../../src/cluster/types.js";
import { ClusterState } from "../../src/placement/cluster-state.js";
import type { GpuDemand, PlacementRequest } from "../../src/placement/types.js";
import { GiB } from "../../src/units.js";

export interface NodeSpec {
  readonly cpu?: number;
  readonly memory?: number;
  readonly gpus?: number;
  readonly model?: string;
  readonly gpuMemory?: number;
  readonly state?: NodeState;
}

export const node = (name: string, s: NodeSpec = {}): ClusterNode => ({
  name,
  cpu: s.cpu ?? 32000,
  memory: s.memory ?? 128 * GiB,
  gpus: Array.from({ length: s.gpus ?? 2 }, (_, index) => ({ index, model: s.model ?? "T4", memory: s.gpuMemory ?? 16 * GiB })),
  state: s.state ?? "Ready",
});

let seq = 0;
export const request = (gpu: GpuDemand, extra: Partial<PlacementRequest> = {}): PlacementRequest => ({
  id: extra.id ?? `r${seq++}`,
  cpu: extra.cpu ?? 1000,
  memory: extra.memory ?? GiB,
  gpu,
  ...(extra.gpuModels === undefined ? {} : { gpuModels: extra.gpuModels }),
  ...(extra.group === undefined ? {} : { group: extra.group }),
});

export const share = (milli: number, memory = 0): GpuDemand => ({ kind: "share", milli, memory });
export const whole = (count: number): GpuDemand => ({ kind: "whole", count });
export const none: GpuDemand = { kind: "none" };

/** Puts a request on node `nodeIndex`, GPUs given by index (share: one index). */
export const put = (state: ClusterState, nodeIndex: number, r: PlacementRequest, gpuIndexes: readonly number[] = []): number => {
  const node = state.nodes[nodeIndex];
  const gpus = gpuIndexes.map((index) =>
    r.gpu.kind === "share" ? { index, milli: r.gpu.milli, memory: r.gpu.memory } : { index, milli: 1000, memory: node.gpus[index].memory },
  );
  return state.assign(r, { nodeIndex, node: node.name, gpus });
};
