// CPU and memory: not now when the free amount is short, never when the node's total is.
import type { ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";
import type { Reason } from "../types.js";
import { FIT, NEVER, NOT_NOW, type FilterCode, type NodeFilter } from "./filter.js";

export const CPU_MEMORY = "CpuMemory";
export const INSUFFICIENT_CPU = "InsufficientCpu";
export const INSUFFICIENT_MEMORY = "InsufficientMemory";
export const NODE_TOO_SMALL_CPU = "NodeCpuTooSmall";
export const NODE_TOO_SMALL_MEMORY = "NodeMemoryTooSmall";

export const filterCpuMemory = (ix: ClusterIndex, node: number, r: CompiledRequest, reasons?: Reason[]): FilterCode => {
  let code: FilterCode = FIT;
  const cpuFree = ix.cpuCap[node] - ix.cpuUsed[node];
  if (r.cpu > cpuFree) {
    const never = r.cpu > ix.cpuCap[node];
    if (reasons === undefined) return never ? NEVER : NOT_NOW;
    reasons.push(
      never
        ? { plugin: CPU_MEMORY, reason: NODE_TOO_SMALL_CPU, need: r.cpu, free: ix.cpuCap[node] }
        : { plugin: CPU_MEMORY, reason: INSUFFICIENT_CPU, need: r.cpu, free: cpuFree },
    );
    code = never ? NEVER : NOT_NOW;
  }
  const memFree = ix.memCap[node] - ix.memUsed[node];
  if (r.memory > memFree) {
    const never = r.memory > ix.memCap[node];
    if (reasons === undefined) return never ? NEVER : NOT_NOW;
    reasons.push(
      never
        ? { plugin: CPU_MEMORY, reason: NODE_TOO_SMALL_MEMORY, need: r.memory, free: ix.memCap[node] }
        : { plugin: CPU_MEMORY, reason: INSUFFICIENT_MEMORY, need: r.memory, free: memFree },
    );
    if (never || code === FIT) code = never ? NEVER : NOT_NOW;
  }
  return code;
};

export const cpuMemoryFilter = (): NodeFilter => ({ name: CPU_MEMORY, filter: filterCpuMemory });
