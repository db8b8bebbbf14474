import { describe, expect, it } from "vitest";
import { ClusterState } from "../../src/placement/cluster-state.js";
import { createPolicy, isPolicyName, MissingWorkloadError, POLICY_NAMES, policyRegistry } from "../../src/placement/registry.js";
import type { PlacementPolicy } from "../../src/placement/types.js";
import type { TargetWorkload } from "../../src/placement/workload.js";
import { rngFromSeed } from "../../src/random/rng.js";
import { GiB } from "../../src/units.js";
import { node, none, put, request, share, whole } from "./fixtures.js";

const workload: TargetWorkload = {
  types: [
    { cpu: 1000, memory: 0, gpu: share(500), weight: 0.5 },
    { cpu: 1000, memory: 0, gpu: whole(1), weight: 0.5 },
  ],
};
const policy = (name: (typeof POLICY_NAMES)[number]): PlacementPolicy => createPolicy(name, { workload });

/** Node 0 idle, node 1 has GPU 0 at 600 used, node 2 not ready. */
const cluster = (): ClusterState => {
  const s = new ClusterState([node("idle"), node("used"), node("down", { state: "NotReady" })]);
  put(s, 1, request(share(600)), [0]);
  return s;
};

describe("registry", () => {
  it("has the paper's six policies, first fit, spread and Berth's by name", () => {
    expect([...POLICY_NAMES].sort()).toEqual(["berth", "bestfit", "dotprod", "fgd", "firstfit", "gpuclustering", "gpupacking", "random", "spread"]);
    for (const name of POLICY_NAMES) expect(policy(name).name).toBe(name);
    expect(isPolicyName("fgd")).toBe(true);
    expect(isPolicyName("FGD")).toBe(false);
  });
  it("fgd refuses to start without a target workload", () => {
    expect(() => policyRegistry.fgd()).toThrow(MissingWorkloadError);
  });
});

describe("packing policies put a small share beside the existing one", () => {
  for (const name of ["bestfit", "gpupacking", "gpuclustering", "fgd", "firstfit"] as const) {
    it(name, () => {
      const d = policy(name).place(request(share(300)), cluster(), rngFromSeed(1));
      expect(d.policy).toBe(name);
      expect(name === "firstfit" ? d.chosen?.node : d.chosen).toEqual(
        name === "firstfit" ? "idle" : { nodeIndex: 1, node: "used", gpus: [{ index: 0, milli: 300, memory: 0 }] },
      );
    });
  }
});

describe("each policy's own choice", () => {
  it("firstfit takes the first node and GPU that fit", () => {
    const s = cluster();
    put(s, 0, request(none, { cpu: 32000 }));
    expect(policy("firstfit").place(request(share(300)), s, rngFromSeed(1)).chosen).toEqual({
      nodeIndex: 1,
      node: "used",
      gpus: [{ index: 0, milli: 300, memory: 0 }],
    });
  });
  it("spread takes the idle node", () => {
    expect(policy("spread").place(request(share(300)), cluster(), rngFromSeed(1)).chosen?.node).toBe("idle");
  });
  it("spread takes the freest GPU of a node", () => {
    const s = new ClusterState([node("a")]);
    put(s, 0, request(share(200)), [0]);
    expect(policy("spread").place(request(share(100)), s, rngFromSeed(1)).chosen?.gpus[0].index).toBe(1);
  });
  it("dotprod prefers the node whose free vector is least aligned with the request", () => {
    const s = new ClusterState([node("a", { cpu: 64000 }), node("b", { cpu: 64000 })]);
    put(s, 0, request(whole(2), { cpu: 60000 }), [0, 1]);
    put(s, 1, request(share(500), { cpu: 0 }), [0]);
    expect(policy("dotprod").place(request(none, { cpu: 2000 }), s, rngFromSeed(1)).chosen?.node).toBe("a");
  });
  it("fgd keeps a whole GPU free when the workload wants whole GPUs", () => {
    // node a: GPU 0 half used. A 500 share on GPU 0 keeps GPU 1 whole; on node b it breaks a free GPU.
    const s = new ClusterState([node("a"), node("b", { gpus: 1 })]);
    put(s, 0, request(share(500), { cpu: 0 }), [0]);
    expect(policy("fgd").place(request(share(500)), s, rngFromSeed(1)).chosen).toEqual({
      nodeIndex: 0,
      node: "a",
      gpus: [{ index: 0, milli: 500, memory: 0 }],
    });
  });
  it("random only draws nodes that fit, and draws each of them", () => {
    const p = policy("random");
    const seen = new Set<string>();
    const rng = rngFromSeed(7);
    for (let k = 0; k < 60; k++) seen.add(p.place(request(share(300)), cluster(), rng).chosen?.node ?? "none");
    expect([...seen].sort()).toEqual(["idle", "used"]);
  });
  it("whole-GPU requests get the first free GPUs", () => {
    const s = new ClusterState([node("a", { gpus: 4 })]);
    put(s, 0, request(share(100)), [1]);
    expect(policy("bestfit").place(request(whole(2)), s, rngFromSeed(1)).chosen?.gpus).toEqual([
      { index: 0, milli: 1000, memory: 16 * GiB },
      { index: 2, milli: 1000, memory: 16 * GiB },
    ]);
  });
  it("no choice when nothing fits", () => {
    const d = policy("bestfit").place(request(whole(3)), cluster(), rngFromSeed(1));
    expect(d.chosen).toBeUndefined();
    expect(d.verdicts).toBeUndefined();
  });
});

describe("ties", () => {
  it("the paper policies take the first of equally scored nodes by default, or draw at random", () => {
    const idle = () => new ClusterState([node("a"), node("b"), node("c")]);
    for (const name of ["dotprod", "gpuclustering", "gpupacking", "bestfit", "fgd"] as const) {
      const first = new Set<string>();
      const drawn = new Set<string>();
      for (let seed = 0; seed < 30; seed++) {
        first.add(createPolicy(name, { workload }).place(request(share(300)), idle(), rngFromSeed(seed)).chosen?.node ?? "none");
        drawn.add(createPolicy(name, { workload, ties: "random" }).place(request(share(300)), idle(), rngFromSeed(seed)).chosen?.node ?? "none");
      }
      expect([...first]).toEqual(["a"]);
      expect([...drawn].sort()).toEqual(["a", "b", "c"]);
    }
  });
});

describe("explain", () => {
  it("returns one verdict per node with reasons as data, and the same choice", () => {
    for (const name of POLICY_NAMES) {
      if (name === "berth") continue; // B2's policy explains itself
      const quiet = policy(name).place(request(share(300)), cluster(), rngFromSeed(3));
      const loud = policy(name).place(request(share(300)), cluster(), rngFromSeed(3), { explain: true });
      expect(loud.chosen).toEqual(quiet.chosen);
      expect(loud.verdicts?.map((v) => [v.candidate, v.code])).toEqual([
        ["idle", "Fits"],
        ["used", "Fits"],
        ["down", "NotNow"],
      ]);
      expect(loud.verdicts?.[2].reasons).toEqual([{ plugin: "NodeState", reason: "NodeNotReady" }]);
      expect(typeof loud.verdicts?.[0].score).toBe("number");
    }
  });
  it("tells never from not now", () => {
    const d = policy("fgd").place(request(whole(2), { cpu: 40000 }), cluster(), rngFromSeed(1), { explain: true });
    expect(d.chosen).toBeUndefined();
    expect(d.verdicts?.map((v) => v.code)).toEqual(["Never", "Never", "Never"]);
    expect(d.verdicts?.[1].reasons).toEqual([
      { plugin: "CpuMemory", reason: "NodeCpuTooSmall", need: 40000, free: 32000 },
      { plugin: "GpuCapacity", reason: "InsufficientWholeGpus", need: 2, free: 1 },
    ]);
  });
});
