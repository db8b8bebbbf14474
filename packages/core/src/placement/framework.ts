// The node-level placement framework: filters, then a scorer, then a node among the best scores
// (at random, as kube-scheduler's selectHost does, or the first), then the GPU(s) on that node.
// Hot path: a node's verdict and score depend only on its state, so each distinct state is
// filtered and scored once per placement and the nodes just read the result; nothing is
// allocated per node. With `explain`, every node gets its own verdict with reasons.
import type { Rng } from "../random/rng.js";
import { indexFor, type ClusterIndex } from "./cluster-index.js";
import { defaultFilters, explainFilters } from "./filters/chain.js";
import { FIT, verdictCode, type NodeFilter } from "./filters/filter.js";
import { assignmentFor, gpuWithAttributes, readGpuAttributes, type GpuAttributes, type ShareGpuSelector } from "./gpu-select.js";
import { compileRequest, GPU_SHARE, type CompiledRequest } from "./request.js";
import { ScoreMemo } from "./score-memo.js";
import type { GpuPick, NodeScorer } from "./scorers/scorer.js";
import type {
  CandidateVerdict,
  ClusterView,
  PlaceOptions,
  PlacementDecision,
  PlacementPolicy,
  PlacementRequest,
  Reason,
} from "./types.js";

export type TieBreak = "random" | "first";

export interface PolicySpec {
  readonly name: string;
  /**
   * Absent: every node that passes the filters scores the same. Its score (and GPU pick) must
   * depend only on the node's state (capacities, use, GPU models and groups, shapes hosted) and
   * the request: results are shared by nodes in one state and remembered across placements.
   */
  readonly scorer?: NodeScorer;
  /** The GPU a share goes to when the scorer did not choose one. */
  readonly selectGpu: ShareGpuSelector;
  /** Among equal best scores: uniformly at random (kube-scheduler) or the lowest node index. */
  readonly ties: TieBreak;
  readonly filters?: readonly NodeFilter[];
}

export const frameworkPolicy = (spec: PolicySpec): PlacementPolicy => {
  const filters = spec.filters ?? defaultFilters();
  const scorer = spec.scorer;
  const randomTies = spec.ties === "random";
  const pick: GpuPick = { gpu: -1 };
  const memo = new ScoreMemo();
  const attrs: GpuAttributes = { model: 0, memCap: 0, milliUsed: 0, memUsed: 0, group: -1 };
  let seen = new Uint32Array(0);
  let slotOf = new Int32Array(0);
  let stamp = 0;
  let lastIndex: ClusterIndex | undefined;

  const ensure = (ix: ClusterIndex): void => {
    const n = ix.stateCapacity;
    if (lastIndex !== ix || seen.length < n) {
      seen = new Uint32Array(n);
      slotOf = new Int32Array(n);
      stamp = 0;
      lastIndex = ix;
    }
    stamp += 1;
  };

  const passes = (ix: ClusterIndex, node: number, r: CompiledRequest): boolean => {
    for (let f = 0; f < filters.length; f++) if (filters[f].filter(ix, node, r) !== FIT) return false;
    return true;
  };

  const scoreOf = (ix: ClusterIndex, node: number, r: CompiledRequest): number => {
    pick.gpu = -1;
    return scorer === undefined ? 0 : scorer.score(ix, node, r, pick);
  };

  const decision = (
    request: PlacementRequest,
    view: ClusterView,
    ix: ClusterIndex,
    r: CompiledRequest,
    rng: Rng,
    node: number,
    scored: GpuAttributes | undefined,
    verdicts?: CandidateVerdict[],
  ): PlacementDecision => {
    if (node < 0) return verdicts === undefined ? { request: request.id, policy: spec.name } : { request: request.id, policy: spec.name, verdicts };
    let gpu = -1;
    if (r.gpuKind === GPU_SHARE) {
      if (scored !== undefined) gpu = gpuWithAttributes(ix, node, scored);
      if (gpu < 0) gpu = spec.selectGpu(ix, node, r, rng);
    }
    const chosen = { nodeIndex: node, node: view.nodes[node].name, gpus: assignmentFor(ix, node, r, gpu) };
    return verdicts === undefined ? { request: request.id, policy: spec.name, chosen } : { request: request.id, policy: spec.name, chosen, verdicts };
  };

  /** Filters and scores node i (the first node met in its state) into a memo slot. */
  const evaluate = (ix: ClusterIndex, i: number, r: CompiledRequest, shape: number): number => {
    const s = ix.stateId[i];
    const slot = memo.claim(ix, s, shape);
    const ok = passes(ix, i, r);
    memo.fits[slot] = ok ? 1 : 0;
    memo.hasGpu[slot] = 0;
    if (ok) {
      memo.score[slot] = scoreOf(ix, i, r);
      if (pick.gpu >= 0) {
        readGpuAttributes(ix, pick.gpu, attrs);
        memo.setGpu(slot, attrs);
      }
    }
    return slot;
  };

  const place = (request: PlacementRequest, view: ClusterView, rng: Rng, options?: PlaceOptions): PlacementDecision => {
    const ix = indexFor(view);
    const r = compileRequest(request, ix);
    if (options?.explain === true) return explained(request, view, ix, r, rng);
    ensure(ix);
    const shape = memo.begin(ix, r);
    let best = -1;
    let bestScore = -Infinity;
    let count = 0;
    for (let i = 0; i < ix.nodeCount; i++) {
      const s = ix.stateId[i];
      let slot: number;
      if (seen[s] !== stamp) {
        seen[s] = stamp;
        slot = memo.find(ix, s, shape);
        if (slot < 0) slot = evaluate(ix, i, r, shape);
        slotOf[s] = slot;
      } else slot = slotOf[s];
      if (memo.fits[slot] === 0) continue;
      const sc = memo.score[slot];
      if (sc > bestScore) {
        bestScore = sc;
        best = i;
        count = 1;
      } else if (sc === bestScore) count += 1;
    }
    // Ties: one uniform draw, then a second pass to the drawn node (one random number, not one
    // per tied node as kube's reservoir sampling takes; the same distribution).
    if (randomTies && count > 1) {
      let k = rng.int(count);
      for (let i = best; i < ix.nodeCount; i++) {
        const slot = slotOf[ix.stateId[i]];
        if (memo.fits[slot] === 1 && memo.score[slot] === bestScore && k-- === 0) {
          best = i;
          break;
        }
      }
    }
    const scored = best >= 0 && memo.gpuOf(slotOf[ix.stateId[best]], attrs) ? attrs : undefined;
    return decision(request, view, ix, r, rng, best, scored);
  };

  const explained = (request: PlacementRequest, view: ClusterView, ix: ClusterIndex, r: CompiledRequest, rng: Rng): PlacementDecision => {
    const verdicts: CandidateVerdict[] = [];
    const gpuOfNode = new Int32Array(ix.nodeCount).fill(-1);
    let best = -1;
    let bestScore = -Infinity;
    let count = 0;
    for (let i = 0; i < ix.nodeCount; i++) {
      const reasons: Reason[] = [];
      const code = explainFilters(filters, ix, i, r, reasons);
      if (code !== FIT) {
        verdicts.push({ candidate: view.nodes[i].name, code: verdictCode(code), reasons });
        continue;
      }
      const sc = scoreOf(ix, i, r);
      gpuOfNode[i] = pick.gpu;
      verdicts.push({ candidate: view.nodes[i].name, code: "Fits", score: sc, reasons });
      if (sc > bestScore) {
        bestScore = sc;
        best = i;
        count = 1;
      } else if (sc === bestScore) count += 1;
    }
    if (randomTies && count > 1) {
      let k = rng.int(count);
      for (let i = best; i < ix.nodeCount; i++) {
        if (verdicts[i].code === "Fits" && verdicts[i].score === bestScore && k-- === 0) {
          best = i;
          break;
        }
      }
    }
    const bestGpu = best < 0 ? -1 : gpuOfNode[best];
    let scored: GpuAttributes | undefined;
    if (bestGpu >= 0) {
      readGpuAttributes(ix, bestGpu, attrs);
      scored = attrs;
    }
    return decision(request, view, ix, r, rng, best, scored, verdicts);
  };

  return { name: spec.name, place };
};
