import { describe, expect, it } from "vitest";
import { AssignmentError, ClusterState } from "../../src/placement/cluster-state.js";
import { createPolicy } from "../../src/placement/registry.js";
import { rngFromSeed } from "../../src/random/rng.js";
import { node, put, request, share, whole } from "./fixtures.js";

describe("cluster state", () => {
  it("assigns and unassigns, and unassign is idempotent", () => {
    const s = new ClusterState([node("a")]);
    const before = s.use[0];
    const id = put(s, 0, request(share(300), { cpu: 2000 }), [1]);
    expect(s.use[0]).not.toBe(before); // a new object per change: views cache by identity
    expect(s.use[0]).toEqual({ cpu: 2000, memory: expect.any(Number), gpus: [{ milli: 0, memory: 0 }, { milli: 300, memory: 0 }] });
    expect(s.allocatedGpuMilli).toBe(300);
    expect(s.unassign(id)).toBe(true);
    expect(s.unassign(id)).toBe(false);
    expect(s.use[0]).toEqual(before);
    expect(s.allocatedGpuMilli).toBe(0);
  });
  it("records the group of each GPU and clears it when the last holder leaves", () => {
    const s = new ClusterState([node("a")]);
    const a = put(s, 0, request(share(300), { group: "onnx" }), [0]);
    const b = put(s, 0, request(share(300), { group: "onnx" }), [0]);
    expect(s.gpuGroups[0]).toEqual(["onnx", undefined]);
    s.unassign(a);
    expect(s.gpuGroups[0]).toEqual(["onnx", undefined]);
    s.unassign(b);
    expect(s.gpuGroups[0]).toEqual([undefined, undefined]);
  });
  it("counts GPU shapes per node", () => {
    const s = new ClusterState([node("a", { gpus: 4 })]);
    put(s, 0, request(share(300)), [0]);
    const w = put(s, 0, request(whole(2)), [1, 2]);
    expect(s.shapeCounts[0]).toEqual({ share: 1, "2-gpu": 1 });
    s.unassign(w);
    expect(s.shapeCounts[0]).toEqual({ share: 1 });
  });
  it("refuses what does not fit", () => {
    const s = new ClusterState([node("a", { cpu: 4000 })]);
    put(s, 0, request(share(800), { group: "onnx" }), [0]);
    expect(() => put(s, 0, request(share(300)), [0])).toThrow(AssignmentError);
    expect(() => put(s, 0, request(share(100), { group: "torch" }), [0])).toThrow(/group/);
    expect(() => put(s, 0, request(whole(1)), [0])).toThrow(/not free/);
    expect(() => put(s, 0, request(share(100), { cpu: 5000 }), [1])).toThrow(/cpu/);
    expect(() => put(s, 0, request(share(100), { gpuModels: ["A100"] }), [1])).toThrow(/T4/);
    expect(() => put(s, 0, request(whole(2)), [1, 1])).toThrow(/twice/);
  });
  it("clones for what-if placement without touching the original", () => {
    const s = new ClusterState([node("a")]);
    const id = put(s, 0, request(share(300), { group: "onnx" }), [0]);
    const c = s.clone();
    put(c, 0, request(share(500), { group: "onnx" }), [0]);
    expect(c.unassign(id)).toBe(true);
    expect(c.use[0].gpus[0].milli).toBe(500);
    expect(s.use[0].gpus[0].milli).toBe(300);
    expect(s.allocatedGpuMilli).toBe(300);
    expect(s.unassign(id)).toBe(true);
    expect(c.gpuGroups[0][0]).toBe("onnx");
  });
});

describe("views the policies read", () => {
  it("follow a view whose nodes are replaced, even with another GPU count", () => {
    const nodes = [node("a", { gpus: 1 }), node("b", { gpus: 1 })];
    const view = { nodes, use: nodes.map((n) => ({ cpu: 0, memory: 0, gpus: n.gpus.map(() => ({ milli: 0, memory: 0 })) })) };
    const p = createPolicy("firstfit");
    expect(p.place(request(whole(2)), view, rngFromSeed(1)).chosen).toBeUndefined();
    nodes[1] = node("b", { gpus: 2 });
    view.use[1] = { cpu: 0, memory: 0, gpus: [{ milli: 0, memory: 0 }, { milli: 0, memory: 0 }] };
    expect(p.place(request(whole(2)), view, rngFromSeed(1)).chosen?.node).toBe("b");
    view.use[1] = { cpu: 0, memory: 0, gpus: [{ milli: 100, memory: 0 }, { milli: 0, memory: 0 }] };
    expect(p.place(request(whole(2)), view, rngFromSeed(1)).chosen).toBeUndefined();
  });
});
