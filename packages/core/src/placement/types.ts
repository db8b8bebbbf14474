import type { ClusterNode, GpuAssignment, NodeUse } from "../cluster/types.js";
import type { Bytes, MilliCpu, MilliGpu } from "../units.js";
import type { Rng } from "../random/rng.js";

/** What a placement needs from GPUs: none, a share of one GPU, or k whole GPUs. */
export type GpuDemand =
  | { readonly kind: "none" }
  /** A fraction of one GPU: a compute share (milli) and/or an amount of its memory. */
  | { readonly kind: "share"; readonly milli: MilliGpu; readonly memory: Bytes }
  | { readonly kind: "whole"; readonly count: number };

/** One thing to place on a node: a new server (for a lease or a pool) or an openb pod. */
export interface PlacementRequest {
  readonly id: string;
  readonly cpu: MilliCpu;
  readonly memory: Bytes;
  readonly gpu: GpuDemand;
  /** Allowed GPU models; empty or absent means any. */
  readonly gpuModels?: readonly string[];
  /** Server group (framework family). Servers of different groups never share a GPU. */
  readonly group?: string;
}

/**
 * Verdicts, not booleans (kube-scheduler's framework): the caller can tell "wait" from
 * "give up". NotNow = not enough free room at the moment; Never = cannot fit even on an
 * empty node (wrong GPU model, node too small, node not Ready is NotNow).
 */
export type VerdictCode = "Fits" | "NotNow" | "Never";

/** Why a candidate was rejected, as data (simulators evaluate this millions of times). */
export interface Reason {
  readonly plugin: string;
  readonly reason: string;
  readonly need?: number;
  readonly free?: number;
}

export interface CandidateVerdict {
  readonly candidate: string;
  readonly code: VerdictCode;
  /** Final weighted score when code is Fits (higher is better). */
  readonly score?: number;
  readonly reasons: readonly Reason[];
}

/** Read-only view of the cluster a policy places against. `use[i]` belongs to `nodes[i]`. */
export interface ClusterView {
  readonly nodes: readonly ClusterNode[];
  readonly use: readonly NodeUse[];
  /** Group hosted on each GPU of each node (`groups[i][g]`), undefined when the GPU is free of servers. */
  readonly gpuGroups?: readonly (readonly (string | undefined)[])[];
  /**
   * Per node, how many placements of each GPU shape it hosts, by tag (`share`, `1-gpu`,
   * `2-gpu`...): GpuClustering groups like shapes. Absent, it is inferred from `use`.
   * Like `use[i]`, a view replaces the object of a node when it changes.
   */
  readonly shapeCounts?: readonly Readonly<Record<string, number>>[];
  /**
   * Which nodes changed, in order, for views that record it (ClusterState): an index then
   * refreshes those nodes instead of comparing every node on every placement. Absent: every
   * node is compared. A view that records changes must record every one.
   */
  readonly changes?: ViewChanges;
}

/** A view's log of node changes: change k (first <= k < count) replaced node `node(k)`'s objects. */
export interface ViewChanges {
  /** Changes recorded so far (only grows). */
  readonly count: number;
  /** The oldest change still kept; older ones are forgotten (an index behind it compares every node). */
  readonly first: number;
  node(k: number): number;
}

export interface PlacementChoice {
  readonly nodeIndex: number;
  readonly node: string;
  readonly gpus: readonly GpuAssignment[];
}

export interface PlacementDecision {
  readonly request: string;
  readonly policy: string;
  readonly chosen?: PlacementChoice;
  /** One verdict per candidate node, when explanation was asked for. */
  readonly verdicts?: readonly CandidateVerdict[];
}

export interface PlaceOptions {
  /** Record a verdict per candidate (the control plane does; the packing benchmark does not). */
  readonly explain?: boolean;
}

/** A named placement policy (filters + scorers, or a whole algorithm like FGD). */
export interface PlacementPolicy {
  readonly name: string;
  place(request: PlacementRequest, cluster: ClusterView, rng: Rng, options?: PlaceOptions): PlacementDecision;
}
