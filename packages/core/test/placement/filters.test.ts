import { describe, expect, it } from "vitest";
import { indexFor } from "../../src/placement/cluster-index.js";
import { ClusterState } from "../../src/placement/cluster-state.js";
import { CPU_MEMORY, filterCpuMemory, INSUFFICIENT_CPU, INSUFFICIENT_MEMORY, NODE_TOO_SMALL_CPU } from "../../src/placement/filters/cpu-memory.js";
import { FIT, NEVER, NOT_NOW } from "../../src/placement/filters/filter.js";
import { filterGpuCapacity, INSUFFICIENT_GPU_SHARE, INSUFFICIENT_WHOLE_GPUS, SHARE_TOO_LARGE, TOO_FEW_GPUS } from "../../src/placement/filters/gpu-capacity.js";
import { filterGpuModel, GPU_MODEL_MISMATCH, NO_GPU } from "../../src/placement/filters/gpu-model.js";
import { filterGroup, GROUP_CONFLICT } from "../../src/placement/filters/group.js";
import { filterNodeState, NODE_CORDONED_REASON, NODE_NOT_READY_REASON } from "../../src/placement/filters/node-state.js";
import { compileRequest } from "../../src/placement/request.js";
import type { PlacementRequest, Reason } from "../../src/placement/types.js";
import { GiB } from "../../src/units.js";
import { node, none, put, request, share, whole } from "./fixtures.js";

type Filter = typeof filterCpuMemory;
const run = (f: Filter, state: ClusterState, i: number, r: PlacementRequest) => {
  const ix = indexFor(state);
  const reasons: Reason[] = [];
  const code = f(ix, i, compileRequest(r, ix), reasons);
  expect(f(ix, i, compileRequest(r, ix))).toBe(code); // the hot path agrees with the explanation
  return { code, reasons };
};

describe("node state filter", () => {
  it("passes Ready nodes and holds back NotReady and Cordoned ones as not now", () => {
    const s = new ClusterState([node("a"), node("b", { state: "NotReady" }), node("c", { state: "Cordoned" })]);
    const r = request(none);
    expect(run(filterNodeState, s, 0, r).code).toBe(FIT);
    expect(run(filterNodeState, s, 1, r)).toMatchObject({ code: NOT_NOW, reasons: [{ reason: NODE_NOT_READY_REASON }] });
    expect(run(filterNodeState, s, 2, r)).toMatchObject({ code: NOT_NOW, reasons: [{ reason: NODE_CORDONED_REASON }] });
  });
});

describe("GPU model filter", () => {
  const s = new ClusterState([node("t4", { model: "T4" }), node("v100", { model: "V100" }), node("cpu", { gpus: 0 })]);
  it("never places a model-restricted request on a node without that model", () => {
    const r = request(share(500), { gpuModels: ["V100"] });
    expect(run(filterGpuModel, s, 0, r)).toMatchObject({ code: NEVER, reasons: [{ plugin: "GpuModel", reason: GPU_MODEL_MISMATCH }] });
    expect(run(filterGpuModel, s, 1, r).code).toBe(FIT);
  });
  it("never places a GPU request on a CPU-only node; CPU-only requests pass", () => {
    expect(run(filterGpuModel, s, 2, request(whole(1)))).toMatchObject({ code: NEVER, reasons: [{ reason: NO_GPU }] });
    expect(run(filterGpuModel, s, 2, request(none)).code).toBe(FIT);
  });
});

describe("cpu and memory filter", () => {
  const s = new ClusterState([node("a", { cpu: 8000, memory: 16 * GiB })]);
  put(s, 0, request(none, { cpu: 6000, memory: 10 * GiB }));
  it("is not now when the free amount is short, with need and free as data", () => {
    expect(run(filterCpuMemory, s, 0, request(none, { cpu: 3000, memory: GiB }))).toEqual({
      code: NOT_NOW,
      reasons: [{ plugin: CPU_MEMORY, reason: INSUFFICIENT_CPU, need: 3000, free: 2000 }],
    });
    expect(run(filterCpuMemory, s, 0, request(none, { cpu: 1000, memory: 8 * GiB })).reasons[0].reason).toBe(INSUFFICIENT_MEMORY);
  });
  it("is never when the node's total is short", () => {
    expect(run(filterCpuMemory, s, 0, request(none, { cpu: 9000 }))).toMatchObject({ code: NEVER, reasons: [{ reason: NODE_TOO_SMALL_CPU }] });
  });
  it("passes when both fit", () => {
    expect(run(filterCpuMemory, s, 0, request(none, { cpu: 2000, memory: 6 * GiB })).code).toBe(FIT);
  });
});

describe("GPU capacity filter", () => {
  it("whole GPUs need k GPUs with nothing on them", () => {
    const s = new ClusterState([node("a", { gpus: 4 })]);
    put(s, 0, request(share(100)), [1]);
    expect(run(filterGpuCapacity, s, 0, request(whole(3))).code).toBe(FIT);
    expect(run(filterGpuCapacity, s, 0, request(whole(4)))).toMatchObject({ code: NOT_NOW, reasons: [{ reason: INSUFFICIENT_WHOLE_GPUS, need: 4, free: 3 }] });
    expect(run(filterGpuCapacity, s, 0, request(whole(5)))).toMatchObject({ code: NEVER, reasons: [{ reason: TOO_FEW_GPUS, need: 5, free: 4 }] });
  });
  it("a GPU with only memory used is not free for a whole-GPU request", () => {
    const s = new ClusterState([node("a", { gpus: 1 })]);
    put(s, 0, request(share(0, GiB)), [0]);
    expect(run(filterGpuCapacity, s, 0, request(whole(1))).code).toBe(NOT_NOW);
  });
  it("a share needs one GPU with enough free milli and free memory", () => {
    const s = new ClusterState([node("a", { gpus: 2, gpuMemory: 16 * GiB })]);
    put(s, 0, request(share(700, 4 * GiB)), [0]);
    put(s, 0, request(share(200, 14 * GiB)), [1]);
    expect(run(filterGpuCapacity, s, 0, request(share(300, 12 * GiB))).code).toBe(FIT);
    expect(run(filterGpuCapacity, s, 0, request(share(300, 13 * GiB)))).toMatchObject({ code: NOT_NOW, reasons: [{ reason: INSUFFICIENT_GPU_SHARE }] });
    expect(run(filterGpuCapacity, s, 0, request(share(900, GiB)))).toMatchObject({ code: NOT_NOW, reasons: [{ need: 900, free: 800 }] });
    expect(run(filterGpuCapacity, s, 0, request(share(100, 17 * GiB)))).toMatchObject({ code: NEVER, reasons: [{ reason: SHARE_TOO_LARGE }] });
  });
});

describe("group filter", () => {
  const s = new ClusterState([node("a", { gpus: 2 })]);
  put(s, 0, request(share(200), { group: "onnx" }), [0]);
  it("a GPU hosting one group never takes another group's share, but a free GPU does", () => {
    const ix = indexFor(s);
    const r = compileRequest(request(share(200), { group: "torch" }), ix);
    expect(filterGroup(ix, 0, r)).toBe(FIT);
    expect(filterGpuCapacity(ix, 0, r)).toBe(FIT);
  });
  it("is not now when every GPU hosts another group", () => {
    put(s, 0, request(share(200), { group: "onnx" }), [1]);
    expect(run(filterGroup, s, 0, request(share(100), { group: "torch" }))).toMatchObject({ code: NOT_NOW, reasons: [{ reason: GROUP_CONFLICT }] });
    expect(run(filterGpuCapacity, s, 0, request(share(100), { group: "torch" })).code).toBe(NOT_NOW);
    expect(run(filterGroup, s, 0, request(share(100), { group: "onnx" })).code).toBe(FIT);
  });
  it("requests without a group (openb pods) are not constrained", () => {
    expect(run(filterGroup, s, 0, request(share(100))).code).toBe(FIT);
    expect(run(filterGpuCapacity, s, 0, request(share(100))).code).toBe(FIT);
  });
});
