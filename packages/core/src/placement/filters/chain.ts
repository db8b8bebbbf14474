// The default filter chain every node-level policy runs, in kube-scheduler's order: cheap and
// decisive checks first.
import type { ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";
import type { Reason } from "../types.js";
import { cpuMemoryFilter, filterCpuMemory } from "./cpu-memory.js";
import { FIT, type FilterCode, type NodeFilter } from "./filter.js";
import { filterGpuCapacity, gpuCapacityFilter } from "./gpu-capacity.js";
import { filterGpuModel, gpuModelFilter } from "./gpu-model.js";
import { filterGroup, groupFilter } from "./group.js";
import { filterNodeState, nodeStateFilter } from "./node-state.js";

export const defaultFilters = (): readonly NodeFilter[] => [
  nodeStateFilter(),
  gpuModelFilter(),
  cpuMemoryFilter(),
  groupFilter(),
  gpuCapacityFilter(),
];

/** Hot path: stops at the first filter that does not pass. */
export const passesDefaultFilters = (ix: ClusterIndex, node: number, r: CompiledRequest): boolean =>
  filterNodeState(ix, node, r) === FIT &&
  filterGpuModel(ix, node, r) === FIT &&
  filterCpuMemory(ix, node, r) === FIT &&
  filterGroup(ix, node, r) === FIT &&
  filterGpuCapacity(ix, node, r) === FIT;

/** Explanation: runs every filter, collects every reason; the verdict is the most severe code. */
export const explainFilters = (
  filters: readonly NodeFilter[],
  ix: ClusterIndex,
  node: number,
  r: CompiledRequest,
  reasons: Reason[],
): FilterCode => {
  let code: FilterCode = FIT;
  for (const f of filters) {
    const c = f.filter(ix, node, r, reasons);
    if (c > code) code = c;
  }
  return code;
};
