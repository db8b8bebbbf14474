import { describe, expect, it } from "vitest";
import { indexFor } from "../../src/placement/cluster-index.js";
import { ClusterState } from "../../src/placement/cluster-state.js";
import { compileWorkload, nodeFragmentation } from "../../src/placement/fragmentation.js";
import { compileRequest } from "../../src/placement/request.js";
import { bestFitScore } from "../../src/placement/scorers/best-fit.js";
import { dotProductScore } from "../../src/placement/scorers/dot-product.js";
import { fgdScorer, fgdScoreOfDelta } from "../../src/placement/scorers/fgd.js";
import { gpuClusteringScore } from "../../src/placement/scorers/gpu-clustering.js";
import { gpuPackingScore } from "../../src/placement/scorers/gpu-packing.js";
import { leastAllocatedScore } from "../../src/placement/scorers/least-allocated.js";
import type { GpuPick } from "../../src/placement/scorers/scorer.js";
import type { PlacementRequest } from "../../src/placement/types.js";
import type { TargetWorkload } from "../../src/placement/workload.js";
import { node, none, put, request, share, whole } from "./fixtures.js";

const scoreWith = (f: (ix: ReturnType<typeof indexFor>, n: number, r: ReturnType<typeof compileRequest>, pick: GpuPick) => number) =>
  (s: ClusterState, i: number, r: PlacementRequest) => {
    const ix = indexFor(s);
    const pick: GpuPick = { gpu: -1 };
    const score = f(ix, i, compileRequest(r, ix), pick);
    return { score, gpu: pick.gpu < 0 ? -1 : pick.gpu - ix.gpuStart[i] };
  };

describe("best fit score", () => {
  it("is 100 x (1 - half the free CPU share - half the free GPU share left after placing), truncated", () => {
    const s = new ClusterState([node("a", { cpu: 32000, gpus: 2 })]);
    // cpu left 31000/128000 * 0.5 + gpu left 1500/8000 * 0.5 = 0.21484 -> 78
    expect(scoreWith(bestFitScore)(s, 0, request(share(500), { cpu: 1000 })).score).toBe(78);
  });
  it("prefers the fuller node", () => {
    const s = new ClusterState([node("a"), node("b")]);
    put(s, 1, request(share(600)), [0]);
    const r = request(share(300));
    expect(scoreWith(bestFitScore)(s, 1, r).score).toBeGreaterThan(scoreWith(bestFitScore)(s, 0, r).score);
  });
});

describe("dot product score", () => {
  it("scores the fully free GPUs as one option on an idle node", () => {
    const s = new ClusterState([node("a", { cpu: 32000, gpus: 2 })]);
    // (32000/128000 * 1000/128000 + 2000/8000 * 500/8000) / 2 = 0.008789 -> 99
    expect(scoreWith(dotProductScore)(s, 0, request(share(500), { cpu: 1000 }))).toEqual({ score: 99, gpu: 0 });
  });
  it("chooses the partly used GPU when its product is smaller", () => {
    const s = new ClusterState([node("a", { cpu: 128000, gpus: 4 })]);
    put(s, 0, request(share(400), { cpu: 0 }), [2]);
    expect(scoreWith(dotProductScore)(s, 0, request(share(500), { cpu: 64000 })).gpu).toBe(2);
  });
});

describe("GPU clustering score", () => {
  const s = new ClusterState([node("idle", { gpus: 2 }), node("shares", { gpus: 2 }), node("mixed", { gpus: 2 })]);
  put(s, 1, request(share(500)), [0]);
  put(s, 2, request(share(500)), [0]);
  put(s, 2, request(whole(1)), [1]);
  const score = scoreWith(gpuClusteringScore);
  it("bands: same shape only > same shape among others > idle > other shapes", () => {
    // idle: 25 * (8000-2000)/8000 = 18 + 25; shares: 25 * 6500/8000 = 20 + 75; mixed: 25*7500/8000 = 23 + 50
    expect(score(s, 0, request(share(200))).score).toBe(43);
    expect(score(s, 1, request(share(200))).score).toBe(95);
    expect(score(s, 2, request(share(200))).score).toBe(73);
    expect(score(s, 1, request(whole(1))).score).toBe(20);
  });
  it("scores CPU-only requests 0 everywhere", () => {
    expect(score(s, 1, request(none)).score).toBe(0);
  });
});

describe("GPU packing score", () => {
  const s = new ClusterState([node("idle", { gpus: 2 }), node("used", { gpus: 2 })]);
  put(s, 1, request(share(400)), [0]);
  const score = scoreWith(gpuPackingScore);
  it("shared GPUs first, then free GPUs of used nodes, then idle nodes", () => {
    expect(score(s, 1, request(share(500))).score).toBe(94); // 100 - 60% free / 10
    expect(score(s, 1, request(share(700))).score).toBe(49); // one fully free GPU of a used node
    expect(score(s, 1, request(whole(1))).score).toBe(49);
    expect(score(s, 0, request(share(500))).score).toBe(31); // 33 - 2 GPUs
  });
});

describe("least allocated score", () => {
  it("prefers the emptier node", () => {
    const s = new ClusterState([node("a"), node("b")]);
    put(s, 0, request(share(500)), [0]);
    const r = request(share(100));
    expect(scoreWith(leastAllocatedScore)(s, 1, r).score).toBeGreaterThan(scoreWith(leastAllocatedScore)(s, 0, r).score);
  });
});

describe("FGD score", () => {
  const workload: TargetWorkload = { types: [{ cpu: 1000, memory: 0, gpu: share(500), weight: 1 }] };
  it("measures fragmentation as the free GPU the workload cannot use", () => {
    const s = new ClusterState([node("a", { gpus: 2 }), node("b", { gpus: 2, cpu: 4000 })]);
    put(s, 0, request(share(700), { cpu: 0 }), [0]);
    put(s, 1, request(share(100), { cpu: 3500 }), [0]);
    const fgd = fgdScorer(workload);
    const ix = indexFor(s);
    expect(fgd.fragmentation(ix, 0)).toBe(300); // GPU 0 has 300 free < 500
    expect(fgd.fragmentation(ix, 1)).toBe(1900); // 500 cpu left < 1000: every free GPU is stranded
  });
  it("picks the GPU whose use grows fragmentation least", () => {
    const s = new ClusterState([node("a", { gpus: 2 })]);
    put(s, 0, request(share(400), { cpu: 0 }), [0]);
    // on GPU 0: free [100, 1000] -> frag 100 (score 47); on GPU 1: free [600, 500] -> frag 0 (score 50)
    expect(scoreWith(fgdScorer(workload).score)(s, 0, request(share(500), { cpu: 0 }))).toEqual({ score: 50, gpu: 1 });
    expect(fgdScoreOfDelta(-100)).toBe(47);
  });
  it("with a whole-GPU workload, filling a half-used GPU beats breaking a free one", () => {
    const w: TargetWorkload = { types: [{ cpu: 0, memory: 0, gpu: whole(1), weight: 1 }] };
    const s = new ClusterState([node("a", { gpus: 2 })]);
    put(s, 0, request(share(500), { cpu: 0 }), [0]);
    expect(scoreWith(fgdScorer(w, { exact: true }).score)(s, 0, request(share(500), { cpu: 0 }))).toEqual({ score: 500, gpu: 0 });
  });
});

describe("node fragmentation", () => {
  const s = new ClusterState([node("t4", { model: "T4" }), node("v100", { model: "V100" })]);
  const ix = indexFor(s);
  const w = compileWorkload(
    {
      types: [
        { cpu: 1000, memory: 0, gpu: share(500), weight: 0.5 },
        { cpu: 1000, memory: 0, gpu: whole(1), weight: 0.3 },
        { cpu: 1000, memory: 0, gpu: none, weight: 0.2 },
      ],
    },
    ix,
  );
  const free = Float64Array.of(300, 1000, 0);
  const t4 = Int32Array.of(0, 0, 0);
  it("weighs each type's unusable free GPU by its popularity", () => {
    // share 500: only the 1000 GPU hosts it -> 300 stranded; whole 1: the same; CPU-only: all 1300
    expect(nodeFragmentation(w, free, t4, 3, 8000, 8 * 2 ** 30)).toBeCloseTo(0.5 * 300 + 0.3 * 300 + 0.2 * 1300);
  });
  it("counts everything as fragment when the type cannot run there (CPU short)", () => {
    expect(nodeFragmentation(w, free, t4, 3, 500, 8 * 2 ** 30)).toBeCloseTo(1300);
  });
  it("counts GPUs of a model the type may not use as fragment", () => {
    const v100Only = compileWorkload({ types: [{ cpu: 0, memory: 0, gpu: share(500), gpuModels: ["V100"], weight: 1 }] }, ix);
    expect(nodeFragmentation(v100Only, free, t4, 3, 8000, 0)).toBe(1300);
    expect(nodeFragmentation(v100Only, free, Int32Array.of(1, 1, 1), 3, 8000, 0)).toBe(300);
  });
  it("is zero on a node with no free GPU", () => {
    expect(nodeFragmentation(w, Float64Array.of(0, 0), t4, 2, 8000, 0)).toBe(0);
  });
});
