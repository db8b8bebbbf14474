import type { Bytes, MilliCpu, MilliGpu } from "../units.js";

/** One physical GPU of a node. Multi-GPU nodes are modelled GPU by GPU. */
export interface Gpu {
  readonly index: number;
  /** GPU model as the inventory names it (`A10`, `V100M32`, `H100`...). */
  readonly model: string;
  readonly memory: Bytes;
}

export type NodeState = "Ready" | "NotReady" | "Cordoned";

/** A machine that can host servers. */
export interface ClusterNode {
  readonly name: string;
  readonly cpu: MilliCpu;
  readonly memory: Bytes;
  readonly gpus: readonly Gpu[];
  readonly state: NodeState;
  readonly labels?: Readonly<Record<string, string>>;
}

/** What is committed on one GPU: a share of its compute and of its memory. */
export interface GpuUse {
  readonly milli: MilliGpu;
  readonly memory: Bytes;
}

/** What is committed on one node (cpu, memory, and each GPU by index). */
export interface NodeUse {
  readonly cpu: MilliCpu;
  readonly memory: Bytes;
  readonly gpus: readonly GpuUse[];
}

/** The GPUs a placement took on a node: whole GPUs, or a share of one. */
export interface GpuAssignment {
  readonly index: number;
  readonly milli: MilliGpu;
  readonly memory: Bytes;
}
