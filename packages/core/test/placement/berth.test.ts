import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClusterState } from "../../src/placement/cluster-state.js";
import { BERTH_POLICY, createBerthPolicy, type WorkloadShape } from "../../src/placement/policies/berth.js";
import { leftoverTable } from "../../src/placement/policies/berth/forecast.js";
import type { PlacementRequest } from "../../src/placement/types.js";
import { rngFromSeed } from "../../src/random/rng.js";
import { GiB } from "../../src/units.js";
import { node, none, put, request, share, whole } from "./fixtures.js";

const rng = rngFromSeed(1);
const forecast: WorkloadShape[] = [
  { cpu: 1000, memory: GiB, gpuMilli: 500, gpuCount: 1, weight: 3 },
  { cpu: 1000, memory: GiB, gpuMilli: 1000, gpuCount: 1, weight: 2 },
  { cpu: 4000, memory: GiB, gpuMilli: 1000, gpuCount: 4, weight: 1 },
];

describe("berth placement policy", () => {
  it("packs a share next to a share that leaves room for the forecast, keeping empty nodes empty", () => {
    const s = new ClusterState([node("empty", { gpus: 4 }), node("half", { gpus: 4 })]);
    put(s, 1, request(share(500)), [2]);
    const d = createBerthPolicy({ workload: forecast }).place(request(share(500)), s, rng);
    expect(d.policy).toBe(BERTH_POLICY);
    expect(d.chosen).toMatchObject({ nodeIndex: 1, node: "half", gpus: [{ index: 2, milli: 500 }] });
  });

  it("keeps whole free GPUs for whole-GPU pods: a share avoids breaking the last free node", () => {
    // node 0 has one half-used GPU and three free: the 4-GPU shape already cannot fit there;
    // node 1 is empty and can still take it. A share belongs on node 0.
    const s = new ClusterState([node("a", { gpus: 4 }), node("b", { gpus: 4 })]);
    put(s, 0, request(share(300)), [0]);
    const d = createBerthPolicy({ workload: forecast }).place(request(share(200)), s, rng);
    expect(d.chosen?.nodeIndex).toBe(0);
  });

  it("charges CPU that strands GPUs: a CPU-only pod goes where no GPU would be stranded", () => {
    // Both nodes have 4 free GPUs; taking 30 cores of node 0 (32 cores) would leave its GPUs
    // without the CPU the forecast's pods need, node 1 has CPU to spare.
    const s = new ClusterState([node("small", { gpus: 4, cpu: 32000 }), node("big", { gpus: 4, cpu: 96000 })]);
    const d = createBerthPolicy({ workload: forecast }).place(request(none, { cpu: 30000 }), s, rng);
    expect(d.chosen?.nodeIndex).toBe(1);
  });

  it("feeds GPUs: CPU goes where it leaves every free GPU enough CPU, though one more pod fits either way", () => {
    // The forecast asks 11 cores per GPU. Taking 16 cores of the dense node (8 GPUs, 96 cores)
    // leaves 80 cores for 8 GPUs (7.3 fed); the CPU-rich node (2 GPUs, 104 cores) stays fed.
    // One 11-core pod still fits both, so FGD's measure alone cannot tell them apart and the
    // first node would win.
    const perGpu: WorkloadShape[] = [{ cpu: 11000, memory: GiB, gpuMilli: 1000, gpuCount: 1, weight: 1 }];
    const s = new ClusterState([node("dense", { gpus: 8, cpu: 96000 }), node("rich", { gpus: 2, cpu: 104000 })]);
    const cpuPod = request(none, { cpu: 16000 });
    expect(createBerthPolicy({ workload: perGpu, feedWeight: 0 }).place(cpuPod, s, rng).chosen?.node).toBe("dense");
    expect(createBerthPolicy({ workload: perGpu }).place(cpuPod, s, rng).chosen?.node).toBe("rich");
  });

  it("gives equal scores to the first node in order (first-fit packing within a score bin)", () => {
    const s = new ClusterState([node("a", { gpus: 4 }), node("b", { gpus: 4 }), node("c", { gpus: 4 })]);
    const policy = createBerthPolicy({ workload: forecast });
    expect(policy.place(request(whole(1)), s, rng).chosen?.node).toBe("a");
    put(s, 1, request(whole(1)), [0]);
    // b is now in another state; a and c are still alike, and a comes first.
    expect(policy.place(request(whole(4)), s, rng).chosen?.node).toBe("a");
  });

  it("leftover table: idle ends are what no forecast pod can fill, shrinking as fitting pods are likely", () => {
    const shapes: WorkloadShape[] = [
      { cpu: 0, memory: 0, gpuMilli: 470, gpuCount: 1, weight: 1 },
      { cpu: 0, memory: 0, gpuMilli: 1000, gpuCount: 1, weight: 1 },
      { cpu: 0, memory: 0, gpuMilli: 0, gpuCount: 0, weight: 2 },
    ];
    const t = leftoverTable(shapes, 0.01);
    expect(t[0]).toBe(0);
    // Nothing fits below 470: the whole free share stays idle.
    expect(t[60]).toBe(60);
    expect(t[469]).toBe(469);
    // 530 free: a 470 (a quarter of arrivals) most likely comes and leaves 60.
    expect(t[530]).toBeCloseTo((0.01 * 530 + 0.25 * 60) / 0.26, 9);
    expect(t[470]).toBeLessThan(t[530]);
    // With no chance of another pod (hazard huge), nothing is filled.
    expect(leftoverTable(shapes, 1e12)[530]).toBeCloseTo(530, 6);
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), (f) => t[f] >= 0 && t[f] <= f + 1e-9));
  });

  it("honours the filters: GPU model, capacity, node state, groups", () => {
    const s = new ClusterState([
      node("t4", { model: "T4" }),
      node("down", { model: "A10", state: "NotReady" }),
      node("a10", { model: "A10", cpu: 2000 }),
    ]);
    const policy = createBerthPolicy({ workload: forecast });
    expect(policy.place(request(share(300), { gpuModels: ["A10"] }), s, rng).chosen?.node).toBe("a10");
    expect(policy.place(request(share(300), { gpuModels: ["A10"], cpu: 4000 }), s, rng).chosen).toBeUndefined();
    expect(policy.place(request(whole(3)), s, rng).chosen).toBeUndefined();
    const g = new ClusterState([node("g", { gpus: 1 })]);
    put(g, 0, request(share(300), { group: "onnx" }), [0]);
    expect(policy.place(request(share(300), { group: "torch" }), g, rng).chosen).toBeUndefined();
    expect(policy.place(request(share(300), { group: "onnx" }), g, rng).chosen?.gpus).toEqual([{ index: 0, milli: 300, memory: 0 }]);
  });

  it("explains: one verdict per node, with the filters' reasons", () => {
    const s = new ClusterState([node("t4", { model: "T4" }), node("a10", { model: "A10" })]);
    const d = createBerthPolicy({ workload: forecast }).place(request(share(300), { gpuModels: ["A10"] }), s, rng, { explain: true });
    expect(d.verdicts?.map((v) => [v.candidate, v.code])).toEqual([["t4", "Never"], ["a10", "Fits"]]);
    expect(d.verdicts?.[0].reasons[0]).toMatchObject({ plugin: "GpuModel" });
    expect(typeof d.verdicts?.[1].score).toBe("number");
  });

  const arbRequest = fc.record({
    kind: fc.constantFrom("none", "share", "whole"),
    milli: fc.integer({ min: 50, max: 999 }),
    count: fc.constantFrom(1, 2, 4),
    cpu: fc.integer({ min: 0, max: 16 }).map((c) => c * 1000),
    model: fc.constantFrom(undefined, "T4", "A10"),
  }).map((r): PlacementRequest => request(r.kind === "none" ? none : r.kind === "share" ? share(r.milli) : whole(r.count), { cpu: r.cpu, ...(r.model === undefined ? {} : { gpuModels: [r.model] }) }));

  it("memoises per node state without changing a decision (property)", () => {
    fc.assert(
      fc.property(fc.array(arbRequest, { minLength: 1, maxLength: 60 }), (requests) => {
        const nodes = [node("a", { gpus: 4 }), node("b", { gpus: 4 }), node("c", { gpus: 2, model: "A10" }), node("d", { gpus: 8 })];
        const state = new ClusterState(nodes);
        const cached = createBerthPolicy({ workload: forecast });
        for (const r of requests) {
          const d = cached.place(r, state, rng);
          // A fresh policy has no memo: it must decide the same.
          const fresh = createBerthPolicy({ workload: forecast }).place(r, state, rng);
          expect(d.chosen).toEqual(fresh.chosen);
          // Every choice passes the cluster's own checks (capacity, models, groups).
          if (d.chosen !== undefined) expect(state.check(r, d.chosen)).toBeUndefined();
          if (d.chosen !== undefined) state.assign(r, d.chosen);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("places whenever some node can take the request (never misses a fit)", () => {
    fc.assert(
      fc.property(fc.array(arbRequest, { minLength: 1, maxLength: 40 }), (requests) => {
        const state = new ClusterState([node("a", { gpus: 2 }), node("b", { gpus: 4, model: "A10" })]);
        const policy = createBerthPolicy();
        for (const r of requests) {
          const d = policy.place(r, state, rng, { explain: true });
          const anyFits = d.verdicts?.some((v) => v.code === "Fits") ?? false;
          expect(d.chosen !== undefined).toBe(anyFits);
          if (d.chosen !== undefined) state.assign(r, d.chosen);
        }
      }),
      { numRuns: 60 },
    );
  });
});
