// FGD, fragmentation gradient descent (Weng et al., ATC'23; the simulator's FGDScore): score a
// node by how much placing the request there grows the node's fragmentation against the target
// workload, squeezed through a sigmoid into kube's integer 0..100 (less growth, higher score).
// For a share, every GPU that can take it is tried and the one with the least growth is
// chosen (the first on ties); whole GPUs go to the first free ones.
// A node's fragmentation depends only on its state, so the "before" value is cached by state id.
import { MILLI_PER_GPU } from "../../units.js";
import type { ClusterIndex } from "../cluster-index.js";
import { compileWorkload, nodeFragmentation, type CompiledWorkload } from "../fragmentation.js";
import { GPU_SHARE, GPU_WHOLE, shareFitsGpu, wholeFitsGpu, type CompiledRequest } from "../request.js";
import type { TargetWorkload } from "../workload.js";
import { MAX_NODE_SCORE, type GpuPick, type NodeScorer } from "./scorer.js";

export const FGD_SCORE = "FGDScore";

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The FGD score of a fragmentation change (before - after, in milli-GPU). */
export const fgdScoreOfDelta = (reduction: number): number => Math.trunc(sigmoid(reduction / 1000) * MAX_NODE_SCORE);

export interface FgdScorer extends NodeScorer {
  /** Fragmentation of node `node` as it is (cached by state). */
  fragmentation(ix: ClusterIndex, node: number): number;
}

export interface FgdScorerOptions {
  /** Score by the exact fragmentation change instead of the paper's integer sigmoid score. */
  readonly exact?: boolean;
}

export const fgdScorer = (workload: TargetWorkload, options: FgdScorerOptions = {}): FgdScorer => {
  const toScore = options.exact === true ? (reduction: number) => reduction : fgdScoreOfDelta;
  let forIndex: ClusterIndex | undefined;
  let w: CompiledWorkload | undefined;
  let cacheGen = new Uint32Array(0);
  let cacheFrag = new Float64Array(0);
  let free = new Float64Array(8);
  let model = new Int32Array(8);

  const prepare = (ix: ClusterIndex): CompiledWorkload => {
    if (forIndex !== ix || w === undefined) {
      forIndex = ix;
      w = compileWorkload(workload, ix);
      cacheGen = new Uint32Array(ix.stateCapacity);
    }
    if (cacheGen.length < ix.stateCapacity) {
      const gen = new Uint32Array(ix.stateCapacity);
      gen.set(cacheGen);
      cacheGen = gen;
    }
    if (cacheFrag.length < cacheGen.length) {
      const f = new Float64Array(cacheGen.length);
      f.set(cacheFrag);
      cacheFrag = f;
    }
    return w;
  };

  /** Loads node's GPUs into the scratch arrays; returns the GPU count. */
  const load = (ix: ClusterIndex, node: number): number => {
    const start = ix.gpuStart[node];
    const n = ix.gpuStart[node + 1] - start;
    if (free.length < n) {
      free = new Float64Array(n);
      model = new Int32Array(n);
    }
    for (let j = 0; j < n; j++) {
      free[j] = MILLI_PER_GPU - ix.gpuMilliUsed[start + j];
      model[j] = ix.gpuModel[start + j];
    }
    return n;
  };

  const fragmentation = (ix: ClusterIndex, node: number): number => {
    const cw = prepare(ix);
    const s = ix.stateId[node];
    if (cacheGen[s] === ix.stateGen[s]) return cacheFrag[s];
    const n = load(ix, node);
    const f = nodeFragmentation(cw, free, model, n, ix.cpuCap[node] - ix.cpuUsed[node], ix.memCap[node] - ix.memUsed[node]);
    cacheGen[s] = ix.stateGen[s];
    cacheFrag[s] = f;
    return f;
  };

  const score = (ix: ClusterIndex, node: number, r: CompiledRequest, pick: GpuPick): number => {
    const before = fragmentation(ix, node);
    const cw = w as CompiledWorkload;
    const n = load(ix, node);
    const start = ix.gpuStart[node];
    const cpuAfter = ix.cpuCap[node] - ix.cpuUsed[node] - r.cpu;
    const memAfter = ix.memCap[node] - ix.memUsed[node] - r.memory;
    pick.gpu = -1;
    if (r.gpuKind === GPU_SHARE) {
      let best = -Infinity;
      for (let j = 0; j < n; j++) {
        const g = start + j;
        if (!shareFitsGpu(ix, g, r) || triedTwin(ix, start, j, r)) continue;
        const had = free[j];
        free[j] = had - r.milli;
        const s = toScore(before - nodeFragmentation(cw, free, model, n, cpuAfter, memAfter));
        free[j] = had;
        if (pick.gpu < 0 || s > best) {
          best = s;
          pick.gpu = g;
        }
      }
      return pick.gpu < 0 ? 0 : best;
    }
    if (r.gpuKind === GPU_WHOLE) {
      let left = r.count;
      for (let j = 0; j < n && left > 0; j++) {
        if (wholeFitsGpu(ix, start + j, r)) {
          free[j] = 0;
          left -= 1;
        }
      }
    }
    return toScore(before - nodeFragmentation(cw, free, model, n, cpuAfter, memAfter));
  };

  return { name: FGD_SCORE, score, fragmentation };
};

/** An earlier GPU of the node with the same free share and model gives the same score. */
const triedTwin = (ix: ClusterIndex, start: number, j: number, r: CompiledRequest): boolean => {
  const g = start + j;
  for (let h = start; h < g; h++) {
    if (ix.gpuMilliUsed[h] === ix.gpuMilliUsed[g] && ix.gpuModel[h] === ix.gpuModel[g] && shareFitsGpu(ix, h, r)) return true;
  }
  return false;
};
