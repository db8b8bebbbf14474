import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultDecideConfig, type DecideConfig, type Snapshot } from "../../src/decide/index.js";
import { GiB } from "../../src/units.js";
import { leaseSpec, node, tagged, World } from "./fixtures.js";

// ServerObserved.scaledTo: a replica count decided outside the core (a Kubernetes HPA in `hpa`
// mode). The core follows within the lease's [min, max] and what fits, never over-commits, and
// from then on its own autoscaler leaves the server alone.

const config: DecideConfig = { ...defaultDecideConfig, autoscaler: { ...defaultDecideConfig.autoscaler, syncPeriod: 1_000 } };

/** A lease on whole GPUs (one per replica) with autoscaling, Ready on its server. */
const readyWorld = (nodes: readonly number[], minReplicas: number, maxReplicas: number) => {
  const w = new World(config);
  nodes.forEach((gpus, i) => w.step({ _tag: "NodeObserved", at: 0, node: node(`n${i}`, gpus) }));
  const autoscaling = { metric: "queue_time", target: 100, minReplicas, maxReplicas, policy: "hpa" as const, mode: "hpa" as const };
  const requested = w.step({
    _tag: "LeaseRequested",
    at: 0,
    id: "l1",
    spec: leaseSpec("a", { autoscaling, minDuration: 3_600_000, resources: { gpuMemory: 4 * GiB, gpus: 1, gpuMilli: 0, cpu: 1000, memory: 4 * GiB, gpuModels: [] } }),
  });
  const serverId = tagged(requested.intents, "EnsureServer")[0]!.serverId;
  w.step({ _tag: "ServerObserved", at: 0, serverId, state: "Up", readyReplicas: 1 });
  w.step({ _tag: "ModelsLoaded", at: 0, serverId, leaseId: "l1", measuredMemory: 3 * GiB });
  return { w, serverId };
};

const freeGpus = (s: Snapshot): number =>
  Object.values(s.nodes).reduce((n, rec) => n + rec.use.gpus.filter((g) => g.milli === 0 && g.memory === 0).length, 0);

const overCommitted = (s: Snapshot): string[] =>
  Object.values(s.nodes).flatMap((rec) =>
    rec.use.gpus.flatMap((g, i) => (g.milli > 1000 || g.memory > rec.node.gpus[i]!.memory ? [`${rec.node.name}/${i}`] : [])),
  );

describe("decide: replica counts the backend decided (ServerObserved.scaledTo)", () => {
  it("follows the count, emits ScaleServer with a placement per replica, and logs a Scaling decision", () => {
    const { w, serverId } = readyWorld([4], 1, 3);
    expect(w.lease("a")!.phase).toBe("Ready");
    const result = w.step({ _tag: "ServerObserved", at: 1_000, serverId, state: "Up", readyReplicas: 1, scaledTo: 3 });
    const scale = tagged(result.intents, "ScaleServer");
    expect(scale).toHaveLength(1);
    expect(scale[0]!.replicas).toBe(3);
    expect(scale[0]!.placements).toHaveLength(3);
    expect(w.snapshot.servers[serverId]!.scaledBy).toBe("backend");
    const decision = w.snapshot.decisions.at(-1)!;
    expect(decision).toMatchObject({ kind: "Scaling", policy: "backend", outcome: "Scaled", scaling: { from: 1, to: 3 } });
    // Scaling down gives the replicas' GPUs back.
    w.step({ _tag: "ServerObserved", at: 2_000, serverId, state: "Up", readyReplicas: 3, scaledTo: 1 });
    expect(w.snapshot.servers[serverId]!.replicas).toHaveLength(1);
    expect(freeGpus(w.snapshot)).toBe(3);
  });

  it("clamps to [minReplicas, maxReplicas] and places only what fits", () => {
    const { w, serverId } = readyWorld([2], 1, 5);
    const result = w.step({ _tag: "ServerObserved", at: 1_000, serverId, state: "Up", readyReplicas: 1, scaledTo: 9 });
    expect(w.snapshot.servers[serverId]!.replicas).toHaveLength(2);
    expect(w.snapshot.decisions.at(-1)).toMatchObject({ outcome: "ScaledPartly", scaling: { from: 1, to: 2, reason: { scaledTo: 9, desired: 5 } } });
    expect(tagged(result.intents, "ScaleServer")[0]!.replicas).toBe(2);
    w.step({ _tag: "ServerObserved", at: 2_000, serverId, state: "Up", readyReplicas: 2, scaledTo: 0 });
    expect(w.snapshot.servers[serverId]!.replicas).toHaveLength(1);
  });

  it("leaves a server whose lease has no autoscaling alone, and still applies the observation's state", () => {
    const w = new World(config);
    w.step({ _tag: "NodeObserved", at: 0, node: node("n0", 4) });
    const requested = w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a") });
    const serverId = tagged(requested.intents, "EnsureServer")[0]!.serverId;
    const result = w.step({ _tag: "ServerObserved", at: 0, serverId, state: "Up", readyReplicas: 1, scaledTo: 3 });
    expect(tagged(result.intents, "ScaleServer")).toHaveLength(0);
    expect(w.snapshot.servers[serverId]).toMatchObject({ state: "Ready", replicas: [expect.anything()] });
    expect(w.snapshot.servers[serverId]!.scaledBy).toBeUndefined();
  });

  it("property: replicas stay within [min, max], follow the backend as far as capacity allows, never over-commit, and berthd's autoscaler stays away", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.oneof(fc.integer({ min: -2, max: 14 }), fc.constant(Number.NaN), fc.constant("tick" as const)), { minLength: 1, maxLength: 25 }),
        (nodes, min, span, steps) => {
          // The lease is placed only where its minimum fits.
          fc.pre(min <= nodes.reduce((a, b) => a + b, 0));
          const max = min + span;
          const { w, serverId } = readyWorld(nodes, min, max);
          let at = 0;
          let backendScaled = false;
          for (const step of steps) {
            at += 1_000;
            const before = w.snapshot.servers[serverId]!.replicas.length;
            if (step === "tick") {
              // Heavy load: berthd's autoscaler would scale up, unless the backend scales this server.
              w.step({ _tag: "MetricObserved", at: at - 500, leaseId: "l1", sample: { value: 10_000, readyReplicas: before } });
              w.step({ _tag: "Tick", at });
              if (backendScaled) expect(w.snapshot.servers[serverId]!.replicas.length).toBe(before);
            } else {
              const result = w.step({ _tag: "ServerObserved", at, serverId, state: "Up", readyReplicas: before, scaledTo: step });
              const after = w.snapshot.servers[serverId]!.replicas.length;
              const scale = tagged(result.intents, "ScaleServer");
              expect(scale.length).toBe(after === before ? 0 : 1);
              if (scale[0]) expect(scale[0].placements).toHaveLength(after);
              if (!Number.isNaN(step)) {
                backendScaled = true;
                const desired = Math.min(max, Math.max(min, 1, step));
                if (desired <= before) expect(after).toBe(desired);
                // Short of the count only when no whole GPU is left.
                else if (after < desired) expect(freeGpus(w.snapshot)).toBe(0);
                else expect(after).toBe(desired);
              }
            }
            const replicas = w.snapshot.servers[serverId]!.replicas.length;
            expect(replicas).toBeLessThanOrEqual(max);
            // At least min, unless the nodes never had room for min (placement of the first replicas).
            if (backendScaled) expect(replicas >= min || freeGpus(w.snapshot) === 0).toBe(true);
            expect(overCommitted(w.snapshot)).toEqual([]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
