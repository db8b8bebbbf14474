// Servers of different groups (framework families) never share a GPU. A request with a group
// is not now for a node whose every allowed GPU hosts another group (they may drain); a request
// without a group (openb pods) has no constraint.
import type { ClusterIndex } from "../cluster-index.js";
import { GPU_NONE, groupAccepts, modelAllowed, type CompiledRequest } from "../request.js";
import type { Reason } from "../types.js";
import { FIT, NOT_NOW, type FilterCode, type NodeFilter } from "./filter.js";

export const GROUP = "GroupCompatibility";
export const GROUP_CONFLICT = "GpusHostOtherGroups";

export const filterGroup = (ix: ClusterIndex, node: number, r: CompiledRequest, reasons?: Reason[]): FilterCode => {
  if (r.group < 0 || r.gpuKind === GPU_NONE) return FIT;
  const start = ix.gpuStart[node];
  const end = ix.gpuStart[node + 1];
  let accepting = 0;
  let allowed = 0;
  for (let g = start; g < end; g++) {
    if (!modelAllowed(ix, g, r.models)) continue;
    allowed += 1;
    if (groupAccepts(ix, g, r.group)) accepting += 1;
  }
  // A node without allowed GPUs is the model filter's to reject.
  if (allowed === 0 || accepting >= r.count) return FIT;
  reasons?.push({ plugin: GROUP, reason: GROUP_CONFLICT, need: r.count, free: accepting });
  return NOT_NOW;
};

export const groupFilter = (): NodeFilter => ({ name: GROUP, filter: filterGroup });
