// Only Ready nodes take placements; NotReady and Cordoned nodes may come back, so: not now.
import { NODE_CORDONED, NODE_READY, type ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";
import type { Reason } from "../types.js";
import { FIT, NOT_NOW, type FilterCode, type NodeFilter } from "./filter.js";

export const NODE_STATE = "NodeState";
export const NODE_NOT_READY_REASON = "NodeNotReady";
export const NODE_CORDONED_REASON = "NodeCordoned";

export const filterNodeState = (ix: ClusterIndex, node: number, _r: CompiledRequest, reasons?: Reason[]): FilterCode => {
  const s = ix.nodeState[node];
  if (s === NODE_READY) return FIT;
  reasons?.push({ plugin: NODE_STATE, reason: s === NODE_CORDONED ? NODE_CORDONED_REASON : NODE_NOT_READY_REASON });
  return NOT_NOW;
};

export const nodeStateFilter = (): NodeFilter => ({ name: NODE_STATE, filter: filterNodeState });
