import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClusterState, type AssignmentId } from "../../src/placement/cluster-state.js";
import { createPolicy, POLICY_NAMES } from "../../src/placement/registry.js";
import type { ClusterView } from "../../src/placement/types.js";
import { rngFromSeed } from "../../src/random/rng.js";
import { node, request, share, whole } from "./fixtures.js";

// ClusterState records which nodes it changed, so a policy's index refreshes only those. The
// same cluster seen through a plain view (no change log: every node compared) must get the
// same decisions, whatever the order of assigns, unassigns and placements, and also when the
// index falls so far behind that the log has forgotten the changes it missed.
describe("cluster state change log", () => {
  it("property: decisions through the logged view equal those through a plain view of the same cluster", () => {
    const shapes = [share(250), share(500), share(700), whole(1), whole(2)];
    fc.assert(
      fc.property(
        fc.constantFrom(...POLICY_NAMES.filter((p) => p !== "fgd")),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: shapes.length - 1 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 120 }),
        (policy, ops) => {
          const s = new ClusterState([node("a"), node("b", { gpus: 4 }), node("c"), node("d", { gpus: 8 })]);
          const plain: ClusterView = { nodes: s.nodes, use: s.use, gpuGroups: s.gpuGroups, shapeCounts: s.shapeCounts };
          const logged = createPolicy(policy);
          const full = createPolicy(policy);
          const live: AssignmentId[] = [];
          for (const [op, shape, churn] of ops) {
            if (op < 2 && live.length > 0) {
              s.unassign(live.splice(churn % live.length, 1)[0]);
              continue;
            }
            if (op === 2) {
              // Many changes without a placement: past what the log keeps.
              for (let k = 0; k < churn; k++) {
                const id = live.pop();
                if (id !== undefined) s.unassign(id);
                const d = full.place(request(share(100)), plain, rngFromSeed(k));
                if (d.chosen !== undefined) live.push(s.assign(request(share(100)), d.chosen));
              }
              continue;
            }
            const r = request(shapes[shape]);
            const a = logged.place(r, s, rngFromSeed(churn));
            const b = full.place(r, plain, rngFromSeed(churn));
            expect(a.chosen).toEqual(b.chosen);
            if (a.chosen !== undefined) live.push(s.assign(r, a.chosen));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps the recent changes in order and forgets the old ones", () => {
    const s = new ClusterState([node("a"), node("b")]);
    const ids: AssignmentId[] = [];
    for (let k = 0; k < 5; k++) ids.push(s.assign(request(share(100)), { nodeIndex: k % 2, node: k % 2 === 0 ? "a" : "b", gpus: [{ index: 0, milli: 100, memory: 0 }] }));
    expect(s.changes.count).toBe(5);
    expect([0, 1, 2, 3, 4].map((k) => s.changes.node(k))).toEqual([0, 1, 0, 1, 0]);
    for (let k = 0; k < 5000; k++) s.unassign(s.assign(request(share(100)), { nodeIndex: 1, node: "b", gpus: [{ index: 1, milli: 100, memory: 0 }] }));
    expect(s.changes.count).toBe(10_005);
    expect(s.changes.first).toBeGreaterThan(0);
    expect(s.changes.node(s.changes.count - 1)).toBe(1);
    s.unassign(ids[0]);
    expect(s.changes.node(s.changes.count - 1)).toBe(0);
  });
});
