// The Filter extension point (kube-scheduler's framework): can this node take the request?
// One function answers both the hot path (a code, no allocation) and explanations (the same
// code plus reasons as data, pushed into the array handed in).
import type { ClusterIndex } from "../cluster-index.js";
import type { CompiledRequest } from "../request.js";
import type { Reason, VerdictCode } from "../types.js";

/** Codes ordered by severity so the verdict of several filters is their maximum. */
export const FIT = 0;
export const NOT_NOW = 1;
export const NEVER = 2;
export type FilterCode = typeof FIT | typeof NOT_NOW | typeof NEVER;

export interface NodeFilter {
  readonly name: string;
  filter(ix: ClusterIndex, node: number, request: CompiledRequest, reasons?: Reason[]): FilterCode;
}

export const verdictCode = (code: FilterCode): VerdictCode => (code === FIT ? "Fits" : code === NOT_NOW ? "NotNow" : "Never");
