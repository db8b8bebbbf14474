// The backend-neutral parts: spec validation, the observation model, plugin loading.
import { Effect, Either, Exit, Layer } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Backend } from "../src/backend.js";
import { diffObservations, type ObservedServer, serverCondition } from "../src/observation.js";
import { MODEL_SERVER_IMAGE } from "../src/process/runtime.js";
import { makeBackendLayer, withPlugins, builtinBackends } from "../src/registry.js";
import { placementOf, type ServerSpec, validateServerSpec } from "../src/spec.js";

const valid: ServerSpec = {
  serverId: "srv-1",
  image: MODEL_SERVER_IMAGE,
  group: "onnxruntime",
  node: "node-a",
  gpus: [0, 2],
  resources: { gpuMemory: 1, gpus: 2, gpuMilli: 0, cpu: 500, memory: 1, gpuModels: [] },
  replicas: 2,
  labels: { "berth.dev/lease": "l1" },
};

describe("validateServerSpec", () => {
  it("accepts a valid spec unchanged", () => {
    expect(validateServerSpec(valid)).toEqual(Either.right(valid));
  });

  it("lists every problem at once, with its path", () => {
    const result = validateServerSpec({ ...valid, serverId: "Bad_Id", replicas: 1.5, gpus: [1, 1], labels: { "bad key!": "v" }, sidecar: { berthd: "nohost", repositories: [], cache: "/c" } });
    if (Either.isRight(result)) throw new Error("expected problems");
    const text = result.left.join("\n");
    for (const path of ["serverId", "replicas", "gpus", "labels", "sidecar.berthd", "sidecar.repositories"]) expect(text).toContain(path);
  });

  it("takes per-replica placements by index, the server's node and GPUs after their end", () => {
    const spec = { ...valid, placements: [{ node: "node-b", gpus: [3] }] };
    expect(placementOf(spec, 0)).toEqual({ node: "node-b", gpus: [3] });
    expect(placementOf(spec, 1)).toEqual({ node: "node-a", gpus: [0, 2] });
  });
});

const server = (id: string, states: ObservedServer["replicas"][number]["state"][], desired = states.length): ObservedServer => ({
  serverId: id,
  image: "i",
  labels: {},
  desiredReplicas: desired,
  replicas: states.map((state, index) => ({ replicaId: `${id}-${index}`, index, state, placement: { node: "n", gpus: [] }, restarts: 0 })),
});

describe("observations", () => {
  it("serverCondition: Up with any Ready replica, Gone when every desired replica Failed, Down otherwise", () => {
    expect(serverCondition(server("a", ["Ready", "Down"]))).toEqual({ state: "Up", readyReplicas: 1 });
    expect(serverCondition(server("a", ["Failed", "Failed"]))).toEqual({ state: "Gone", readyReplicas: 0 });
    expect(serverCondition(server("a", ["Failed", "Starting"]))).toEqual({ state: "Down", readyReplicas: 0 });
  });

  it("diffObservations: applying the diff to the old state gives the new state", () => {
    const stateArb = fc.dictionary(
      fc.constantFrom("a", "b", "c", "d"),
      fc.array(fc.constantFrom("Starting" as const, "Ready" as const, "Down" as const, "Failed" as const), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(stateArb, stateArb, (before, after) => {
        const toMap = (d: Record<string, ObservedServer["replicas"][number]["state"][]>) => new Map(Object.entries(d).map(([id, s]) => [id, server(id, s)]));
        const b = toMap(before);
        const a = toMap(after);
        const diff = diffObservations(b, a);
        const applied = new Map(b);
        for (const o of diff) {
          if (o._tag === "Observed") applied.set(o.server.serverId, o.server);
          else applied.delete(o.serverId);
        }
        expect([...applied.entries()].sort()).toEqual([...a.entries()].sort());
        // Only real changes are reported.
        for (const o of diff) if (o._tag === "Observed") expect(JSON.stringify(b.get(o.server.serverId))).not.toBe(JSON.stringify(o.server));
      }),
    );
  });
});

describe("plugin registry", () => {
  const exitOf = (layer: Layer.Layer<Backend, unknown>) => Effect.runPromiseExit(Effect.scoped(Layer.build(layer)));

  it("an unknown backend name is InvalidConfig naming the known ones", async () => {
    const exit = await exitOf(makeBackendLayer("nomad", {}));
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toMatch(/no backend named 'nomad' \(known: docker, kubernetes, process\)/);
  });

  it("the process backend decodes its configuration and reports every problem", async () => {
    const exit = await exitOf(makeBackendLayer("process", { restartBaseMs: -1, onClose: "sometimes" }));
    const text = Exit.isFailure(exit) ? JSON.stringify(exit.cause) : "";
    for (const field of ["stateDir", "restartBaseMs", "onClose"]) expect(text).toContain(field);
  });

  it("plugins join the registry by name", async () => {
    const fake = { name: "fake", layer: () => Layer.fail(new Error("fake")) as never };
    const registry = withPlugins(builtinBackends, fake);
    expect([...registry.keys()].sort()).toEqual(["docker", "fake", "kubernetes", "process"]);
  });
});
