// GpuPacking (the FGD paper's baseline, simulator's GpuPackingScore), best first:
// 1. the request fits on partly used GPUs: 100 - (their free share in percent) / 10, at least 50;
// 2. it needs fully free GPUs of a used node: 50 - how many, at least 33;
// 3. the node is entirely free: 33 - its GPU count (floored at that count, as the simulator does).
import { MILLI_PER_GPU } from "../../units.js";
import type { ClusterIndex } from "../cluster-index.js";
import { GPU_NONE, shareFitsGpu, type CompiledRequest } from "../request.js";
import { MAX_NODE_SCORE, type NodeScorer } from "./scorer.js";

export const GPU_PACKING_SCORE = "GpuPackingScore";

export const gpuPackingScore = (ix: ClusterIndex, node: number, r: CompiledRequest): number => {
  if (r.gpuKind === GPU_NONE) return 0;
  const start = ix.gpuStart[node];
  const end = ix.gpuStart[node + 1];
  let fullyFree = 0;
  for (let g = start; g < end; g++) if (ix.gpuMilliUsed[g] === 0) fullyFree += 1;
  if (fullyFree === end - start) return Math.max(Math.trunc(MAX_NODE_SCORE / 3) - fullyFree, fullyFree);
  // Take GPUs least free first (stable by index), as the simulator does.
  let need = r.count;
  let freshUsed = 0;
  let freeOnUsed = 0;
  let lastFree = -1;
  let lastIndex = start - 1;
  while (need > 0) {
    let next = -1;
    for (let g = start; g < end; g++) {
      const f = MILLI_PER_GPU - ix.gpuMilliUsed[g];
      if (f < lastFree || (f === lastFree && g <= lastIndex) || !shareFitsGpu(ix, g, r)) continue;
      if (next < 0 || f < MILLI_PER_GPU - ix.gpuMilliUsed[next]) next = g;
    }
    if (next < 0) return 0;
    lastFree = MILLI_PER_GPU - ix.gpuMilliUsed[next];
    lastIndex = next;
    need -= 1;
    if (lastFree === MILLI_PER_GPU) freshUsed += 1;
    freeOnUsed += Math.trunc((lastFree * 100) / MILLI_PER_GPU);
  }
  if (freshUsed > 0) return Math.max(MAX_NODE_SCORE / 2 - freshUsed, Math.trunc(MAX_NODE_SCORE / 3));
  return Math.max(MAX_NODE_SCORE - Math.trunc(freeOnUsed / 10), MAX_NODE_SCORE / 2);
};

export const gpuPackingScorer = (): NodeScorer => ({ name: GPU_PACKING_SCORE, score: gpuPackingScore });
