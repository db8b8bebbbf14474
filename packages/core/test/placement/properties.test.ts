import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClusterNode } from "../../src/cluster/types.js";
import { indexFor } from "../../src/placement/cluster-index.js";
import { ClusterState } from "../../src/placement/cluster-state.js";
import { assignmentFor, bestFitGpu } from "../../src/placement/gpu-select.js";
import { createPolicy, POLICY_NAMES, type PolicyName } from "../../src/placement/registry.js";
import { compileRequest } from "../../src/placement/request.js";
import type { ClusterView, GpuDemand, PlacementChoice, PlacementRequest } from "../../src/placement/types.js";
import { targetWorkloadFromRequests } from "../../src/placement/workload.js";
import { rngFromSeed } from "../../src/random/rng.js";
import { GiB } from "../../src/units.js";

// Berth's own policy (helper B2's) has its own tests; these cover the framework's policies.
const POLICIES = POLICY_NAMES.filter((n): n is Exclude<PolicyName, "berth"> => n !== "berth");
const MODELS = ["T4", "V100"];
const GROUPS = ["onnx", "torch"];

const nodeArb = (name: string): fc.Arbitrary<ClusterNode> =>
  fc.record({
    cpu: fc.integer({ min: 2, max: 16 }).map((c) => c * 1000),
    memory: fc.integer({ min: 4, max: 64 }).map((m) => m * GiB),
    gpus: fc.integer({ min: 0, max: 4 }),
    model: fc.constantFrom(...MODELS),
    gpuMemory: fc.constantFrom(8 * GiB, 16 * GiB),
    state: fc.constantFrom("Ready", "Ready", "Ready", "NotReady", "Cordoned"),
  }).map((s) => ({
    name,
    cpu: s.cpu,
    memory: s.memory,
    gpus: Array.from({ length: s.gpus }, (_, index) => ({ index, model: s.model, memory: s.gpuMemory })),
    state: s.state as ClusterNode["state"],
  }));

const clusterArb = fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(`n${i}`))));

const gpuArb: fc.Arbitrary<GpuDemand> = fc.oneof(
  fc.constant<GpuDemand>({ kind: "none" }),
  fc.record({ milli: fc.integer({ min: 1, max: 10 }).map((m) => m * 100), memory: fc.constantFrom(0, 0, 2 * GiB, 6 * GiB, 12 * GiB) }).map(
    (s): GpuDemand => ({ kind: "share", ...s }),
  ),
  fc.integer({ min: 1, max: 4 }).map((count): GpuDemand => ({ kind: "whole", count })),
);

const requestsArb = fc.array(
  fc.record({
    cpu: fc.integer({ min: 0, max: 8 }).map((c) => c * 1000),
    memory: fc.integer({ min: 0, max: 16 }).map((m) => m * GiB),
    gpu: gpuArb,
    group: fc.option(fc.constantFrom(...GROUPS), { nil: undefined }),
    models: fc.option(fc.subarray(MODELS, { minLength: 1 }), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 25 },
).map((rs) =>
  rs.map(
    (r, i): PlacementRequest => ({
      id: `p${i}`,
      cpu: r.cpu,
      memory: r.memory,
      gpu: r.gpu,
      ...(r.group === undefined ? {} : { group: r.group }),
      ...(r.models === undefined ? {} : { gpuModels: r.models }),
    }),
  ),
);

const policyArb = fc.constantFrom(...POLICIES);

/** Places every request in order, assigning each choice; returns the decisions. */
const run = (name: PolicyName, nodes: readonly ClusterNode[], requests: readonly PlacementRequest[], seed: number) => {
  const policy = createPolicy(name, { workload: targetWorkloadFromRequests(requests) });
  const state = new ClusterState(nodes);
  const rng = rngFromSeed(seed);
  const chosen: (PlacementChoice | undefined)[] = [];
  const holders = nodes.map((n) => n.gpus.map(() => new Set<string>()));
  for (const r of requests) {
    const d = policy.place(r, state, rng);
    chosen.push(d.chosen);
    if (d.chosen === undefined) continue;
    state.assign(r, d.chosen); // throws on any over-commit, model or group violation
    for (const g of d.chosen.gpus) if (r.group !== undefined) holders[d.chosen.nodeIndex][g.index].add(r.group);
  }
  return { state, chosen, holders };
};

describe("placement properties", () => {
  it("never over-commits a GPU, CPU or memory, never mixes groups on a GPU, and gives whole requests distinct free GPUs", () => {
    fc.assert(
      fc.property(policyArb, clusterArb, requestsArb, fc.nat(), (name, nodes, requests, seed) => {
        const { state, chosen, holders } = run(name, nodes, requests, seed);
        nodes.forEach((n, i) => {
          const u = state.use[i];
          expect(u.cpu).toBeLessThanOrEqual(n.cpu);
          expect(u.memory).toBeLessThanOrEqual(n.memory);
          n.gpus.forEach((g, j) => {
            expect(u.gpus[j].milli).toBeLessThanOrEqual(1000);
            expect(u.gpus[j].memory).toBeLessThanOrEqual(g.memory);
            expect(holders[i][j].size).toBeLessThanOrEqual(1);
          });
        });
        requests.forEach((r, k) => {
          const c = chosen[k];
          if (c === undefined) return;
          expect(nodes[c.nodeIndex].state).toBe("Ready");
          if (r.gpu.kind === "whole") {
            expect(new Set(c.gpus.map((g) => g.index)).size).toBe(r.gpu.count);
            expect(c.gpus.every((g) => g.milli === 1000)).toBe(true);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it("places a request whenever some node's verdict is Fits, and a Fits node accepts the assignment", () => {
    fc.assert(
      fc.property(policyArb, clusterArb, requestsArb, fc.nat(), (name, nodes, requests, seed) => {
        const { state } = run(name, nodes, requests.slice(0, -1), seed);
        const last = requests[requests.length - 1];
        const d = createPolicy(name, { workload: targetWorkloadFromRequests(requests) }).place(last, state, rngFromSeed(seed), { explain: true });
        const verdicts = d.verdicts ?? [];
        expect(verdicts).toHaveLength(nodes.length);
        expect(d.chosen !== undefined).toBe(verdicts.some((v) => v.code === "Fits"));
        const ix = indexFor(state);
        const r = compileRequest(last, ix);
        verdicts.forEach((v, i) => {
          if (v.code !== "Fits") return;
          const gpus = assignmentFor(ix, i, r, r.gpuKind === 1 ? bestFitGpu(ix, i, r, rngFromSeed(0)) : -1);
          expect(state.check(last, { nodeIndex: i, node: nodes[i].name, gpus })).toBeUndefined();
        });
      }),
      { numRuns: 300 },
    );
  });

  it("Never means the request would not fit the node even empty and Ready; NotNow means it would", () => {
    fc.assert(
      fc.property(clusterArb, requestsArb, fc.nat(), (nodes, requests, seed) => {
        const { state } = run("bestfit", nodes, requests.slice(0, -1), seed);
        const last = requests[requests.length - 1];
        const d = createPolicy("firstfit").place(last, state, rngFromSeed(seed), { explain: true });
        d.verdicts?.forEach((v, i) => {
          if (v.code === "Fits") return;
          const empty = new ClusterState([{ ...nodes[i], state: "Ready" }]);
          const alone = createPolicy("firstfit").place(last, empty, rngFromSeed(0), { explain: true });
          expect(alone.verdicts?.[0].code).toBe(v.code === "Never" ? "Never" : "Fits");
        });
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic given the seed, and caching changes no decision", () => {
    fc.assert(
      fc.property(policyArb, clusterArb, requestsArb, fc.nat(), (name, nodes, requests, seed) => {
        const a = run(name, nodes, requests, seed).chosen;
        expect(run(name, nodes, requests, seed).chosen).toEqual(a);
        // The same run on a fresh plain view per placement: no index or memo carried over.
        const policy = () => createPolicy(name, { workload: targetWorkloadFromRequests(requests) });
        const state = new ClusterState(nodes);
        const rng = rngFromSeed(seed);
        const b = requests.map((r) => {
          const view: ClusterView = { nodes, use: [...state.use], gpuGroups: [...state.gpuGroups], shapeCounts: [...state.shapeCounts] };
          const c = policy().place(r, view, rng).chosen;
          if (c !== undefined) state.assign(r, c);
          return c;
        });
        expect(b).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it("explaining changes no decision", () => {
    fc.assert(
      fc.property(policyArb, clusterArb, requestsArb, fc.nat(), (name, nodes, requests, seed) => {
        const quiet = run(name, nodes, requests, seed).chosen;
        const policy = createPolicy(name, { workload: targetWorkloadFromRequests(requests) });
        const state = new ClusterState(nodes);
        const rng = rngFromSeed(seed);
        const loud = requests.map((r) => {
          const c = policy.place(r, state, rng, { explain: true }).chosen;
          if (c !== undefined) state.assign(r, c);
          return c;
        });
        expect(loud).toEqual(quiet);
      }),
      { numRuns: 150 },
    );
  });
});
