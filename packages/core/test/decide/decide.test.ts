import { describe, expect, it } from "vitest";
import { decide, decideOwned, defaultDecideConfig, emptySnapshot, nextWakeUp, type Event } from "../../src/decide/index.js";
import { GiB } from "../../src/units.js";
import { leaseSpec, node, poolSpec, tagged, World } from "./fixtures.js";

const world = (nodes = 1, gpus = 2) => {
  const w = new World();
  for (let i = 0; i < nodes; i++) w.step({ _tag: "NodeObserved", at: 0, node: node(`n${i}`, gpus) });
  return w;
};

/** Request, server up, models loaded: the happy path to Ready. */
const readyLease = (w: World, name: string, at = 0, over = {}) => {
  const requested = w.step({ _tag: "LeaseRequested", at, id: `id-${name}`, spec: leaseSpec(name, over) });
  const ensure = tagged(requested.intents, "EnsureServer")[0];
  const serverId = ensure?.serverId ?? w.lease(name)!.placement!.serverId;
  if (ensure) w.step({ _tag: "ServerObserved", at, serverId, state: "Up", readyReplicas: 1 });
  w.step({ _tag: "ModelsLoaded", at, serverId, leaseId: `id-${name}`, measuredMemory: 3 * GiB });
  return serverId;
};

describe("decide: lease requested", () => {
  it("places a bespoke lease on a new server and records the node verdicts", () => {
    const w = world(2);
    const r = w.step({ _tag: "LeaseRequested", at: 5, id: "l1", spec: leaseSpec("a") });
    expect(r.rejections).toEqual([]);
    const ensure = tagged(r.intents, "EnsureServer");
    expect(ensure).toHaveLength(1);
    expect(ensure[0]!.template.image).toBe(defaultDecideConfig.defaultImage);
    expect(ensure[0]!.gpus[0]!.memory).toBe(4 * GiB);
    const lease = r.snapshot.leases["l1"]!;
    expect(lease.phase).toBe("Placing");
    expect(lease.placement?.serverId).toBe(ensure[0]!.serverId);
    expect(r.changes.map((c) => c.to)).toEqual(["Pending", "Placing"]);
    const decision = tagged(r.intents, "RecordDecision")[0]!.decision;
    expect(decision.outcome).toBe("NewServer");
    expect(decision.nodeVerdicts?.map((v) => v.candidate).sort()).toEqual(["n0", "n1"]);
    expect(r.snapshot.decisions.at(-1)).toEqual(decision);
  });

  it("rejects a duplicate name with AlreadyExists and leaves the snapshot unchanged", () => {
    const w = world();
    w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a") });
    const before = w.snapshot;
    const r = w.step({ _tag: "LeaseRequested", at: 1, id: "l2", spec: leaseSpec("a") });
    expect(r.rejections[0]?.code).toBe("AlreadyExists");
    expect(r.snapshot).toBe(before);
  });

  it("fails with ResourceExhausted data when nothing fits", () => {
    const w = world(1, 1);
    const big = { resources: { ...leaseSpec("x").resources, gpus: 1 } };
    w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a", big) });
    const r = w.step({ _tag: "LeaseRequested", at: 0, id: "l2", spec: leaseSpec("b", big) });
    const failed = tagged(r.intents, "MarkFailed");
    expect(failed[0]?.reason.code).toBe("ResourceExhausted");
    expect(r.snapshot.leases["l2"]!.phase).toBe("Failed");
    expect(r.snapshot.names["b"]).toBeUndefined();
  });

  it("fails as Unsatisfiable when no node could ever host it", () => {
    const w = world(1, 1);
    const r = w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a", { resources: { ...leaseSpec("x").resources, gpus: 4 } }) });
    expect(tagged(r.intents, "MarkFailed")[0]?.reason.code).toBe("Unsatisfiable");
  });

  it("rejects models of different groups", () => {
    const w = world();
    const r = w.step({
      _tag: "LeaseRequested",
      at: 0,
      id: "l1",
      spec: leaseSpec("a", { models: [{ name: "a", repository: "r" }, { name: "b", repository: "r" }] }),
      models: [
        { model: { name: "a", repository: "r" }, platform: "pytorch_libtorch" },
        { model: { name: "b", repository: "r" }, platform: "onnxruntime_onnx" },
      ],
    });
    expect(r.rejections[0]?.code).toBe("InvalidArgument");
    expect(r.snapshot.leases["l1"]).toBeUndefined();
  });
});

describe("decide: servers and loads", () => {
  it("assigns on server up, becomes Ready on load, and uses the measured memory next time", () => {
    const w = world();
    const r1 = w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a") });
    const serverId = tagged(r1.intents, "EnsureServer")[0]!.serverId;
    const up = w.step({ _tag: "ServerObserved", at: 10, serverId, state: "Up", readyReplicas: 1 });
    expect(tagged(up.intents, "AssignLease")).toEqual([{ _tag: "AssignLease", serverId, leaseId: "l1", models: leaseSpec("a").models }]);
    expect(w.snapshot.leases["l1"]!.phase).toBe("Loading");
    w.step({ _tag: "ModelsLoaded", at: 20, serverId, leaseId: "l1", measuredMemory: 3 * GiB, loadTime: 9 });
    const lease = w.snapshot.leases["l1"]!;
    expect(lease.phase).toBe("Ready");
    expect(lease.memory).toBe(3 * GiB);
    const r2 = w.step({ _tag: "LeaseRequested", at: 30, id: "l2", spec: leaseSpec("b") });
    expect(tagged(r2.intents, "EnsureServer")[0]!.gpus[0]!.memory).toBe(3 * GiB);
  });

  it("fails the lease with the sidecar's error and deletes its bespoke server", () => {
    const w = world();
    const r1 = w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a") });
    const serverId = tagged(r1.intents, "EnsureServer")[0]!.serverId;
    w.step({ _tag: "ServerObserved", at: 1, serverId, state: "Up", readyReplicas: 1 });
    const r = w.step({ _tag: "ModelsFailed", at: 2, serverId, leaseId: "l1", error: "no such file" });
    expect(w.snapshot.leases["l1"]!.phase).toBe("Failed");
    expect(w.snapshot.leases["l1"]!.failure).toMatchObject({ code: "LoadFailed", message: "no such file" });
    expect(tagged(r.intents, "DeleteServer")).toEqual([{ _tag: "DeleteServer", serverId }]);
    expect(w.snapshot.nodes["n0"]!.use.gpus.every((g) => g.memory === 0 && g.milli === 0)).toBe(true);
  });

  it("server down sends Ready leases back to Loading; up again re-assigns", () => {
    const w = world();
    const serverId = readyLease(w, "a");
    w.step({ _tag: "ServerObserved", at: 5, serverId, state: "Down", readyReplicas: 0 });
    expect(w.lease("a")!.phase).toBe("Loading");
    const up = w.step({ _tag: "ServerObserved", at: 6, serverId, state: "Up", readyReplicas: 1 });
    expect(tagged(up.intents, "AssignLease")).toHaveLength(1);
  });

  it("server gone re-places its leases on a new server", () => {
    const w = world();
    const serverId = readyLease(w, "a");
    const r = w.step({ _tag: "ServerObserved", at: 5, serverId, state: "Gone", readyReplicas: 0 });
    const ensure = tagged(r.intents, "EnsureServer");
    expect(ensure).toHaveLength(1);
    expect(ensure[0]!.serverId).not.toBe(serverId);
    expect(w.lease("a")!.phase).toBe("Placing");
    expect(w.snapshot.servers[serverId]).toBeUndefined();
  });

  it("rejects reports about unknown servers", () => {
    const w = world();
    expect(w.step({ _tag: "ServerObserved", at: 0, serverId: "nope", state: "Up", readyReplicas: 1 }).rejections[0]?.code).toBe("NotFound");
  });
});

describe("decide: clock, activity, expiry", () => {
  it("expires a lease at its minimum duration, keeps it warm, and reuses the warm server", () => {
    const w = world();
    const serverId = readyLease(w, "a");
    expect(nextWakeUp(w.snapshot)).toBe(60_000);
    w.step({ _tag: "Tick", at: 59_999 });
    expect(w.lease("a")!.phase).toBe("Ready");
    const t = w.step({ _tag: "Tick", at: 60_000 });
    expect(w.lease("a")!.phase).toBe("Expiring");
    expect(tagged(t.intents, "UnassignLease")).toEqual([]);
    // The same model set again: takes over the warm server, nothing new to start.
    const r = w.step({ _tag: "LeaseRequested", at: 70_000, id: "l2", spec: leaseSpec("b") });
    expect(tagged(r.intents, "EnsureServer")).toEqual([]);
    expect(tagged(r.intents, "AssignLease")[0]?.serverId).toBe(serverId);
    expect(tagged(r.intents, "UnassignLease")[0]?.unload).toEqual([]);
    expect(w.lease("a")).toMatchObject({ phase: "Released" });
  });

  it("activity renews within the activity window; explicit renew extends", () => {
    const w = world();
    readyLease(w, "a");
    w.step({ _tag: "Activity", at: 50_000, lease: "a", requests: 3 });
    expect(w.lease("a")!.expiresAt).toBe(80_000);
    w.step({ _tag: "LeaseRenewed", at: 70_000, name: "a", by: "bob", duration: 100_000 });
    expect(w.lease("a")!.expiresAt).toBe(170_000);
    expect(w.lease("a")!.holders).toEqual(["bob", "team-a"]);
    w.step({ _tag: "Tick", at: 169_000 });
    expect(w.lease("a")!.phase).toBe("Ready");
  });

  it("activity never shortens the minimum duration", () => {
    const w = world();
    readyLease(w, "a", 0, { minDuration: 600_000 });
    w.step({ _tag: "Activity", at: 1000, lease: "a", requests: 1 });
    expect(w.lease("a")!.expiresAt).toBe(600_000);
  });

  it("without keepWarm, expiry unloads and deletes the bespoke server", () => {
    const w = new World({ ...defaultDecideConfig, keepWarm: false });
    w.step({ _tag: "NodeObserved", at: 0, node: node("n0") });
    const serverId = readyLease(w, "a");
    const t = w.step({ _tag: "Tick", at: 60_000 });
    expect(tagged(t.intents, "UnassignLease")[0]?.unload).toEqual(leaseSpec("a").models);
    expect(tagged(t.intents, "DeleteServer")[0]?.serverId).toBe(serverId);
    expect(w.lease("a")!.phase).toBe("Released");
  });

  it("activity on a warm lease's model brings it back", () => {
    const w = world();
    readyLease(w, "a");
    w.step({ _tag: "Tick", at: 60_000 });
    w.step({ _tag: "Activity", at: 61_000, model: "resnet", requests: 1 });
    expect(w.lease("a")!.phase).toBe("Ready");
    expect(w.snapshot.names["a"]).toBe("id-a");
  });
});

describe("decide: release and shared ownership", () => {
  it("releases only when the last holder lets go", () => {
    const w = world();
    readyLease(w, "a");
    w.step({ _tag: "LeaseRenewed", at: 1, name: "a", by: "bob" });
    w.step({ _tag: "LeaseReleased", at: 2, name: "a", by: "team-a" });
    expect(w.lease("a")!.phase).toBe("Ready");
    const r = w.step({ _tag: "LeaseReleased", at: 3, name: "a", by: "bob" });
    expect(w.lease("a")!.phase).toBe("Released");
    expect(tagged(r.intents, "DeleteServer")).toHaveLength(1);
  });

  it("in a pool, a model held by another lease is not unloaded", () => {
    const w = world();
    w.step({ _tag: "PoolDefined", at: 0, spec: poolSpec("p") });
    const inPool = { where: { kind: "pool" as const, pool: "p", quota: 8 * GiB } };
    const serverId = Object.keys(w.snapshot.servers)[0]!;
    w.step({ _tag: "ServerObserved", at: 0, serverId, state: "Up", readyReplicas: 1 });
    w.step({ _tag: "LeaseRequested", at: 1, id: "l1", spec: leaseSpec("a", inPool) });
    w.step({
      _tag: "LeaseRequested",
      at: 1,
      id: "l2",
      spec: leaseSpec("b", { ...inPool, models: [{ name: "resnet", repository: "repo" }, { name: "bert", repository: "repo" }] }),
    });
    expect(w.snapshot.leases["l2"]!.placement?.serverId).toBe(serverId);
    const r = w.step({ _tag: "LeaseReleased", at: 2, name: "b" });
    expect(tagged(r.intents, "UnassignLease")[0]?.unload).toEqual([{ name: "bert", repository: "repo" }]);
    expect(tagged(r.intents, "DeleteServer")).toEqual([]);
  });

  it("rejects releasing an unknown lease", () => {
    expect(world().step({ _tag: "LeaseReleased", at: 0, name: "zz" }).rejections[0]?.code).toBe("NotFound");
  });
});

describe("decide: pools", () => {
  const inPool = (quota = 8 * GiB) => ({ where: { kind: "pool" as const, pool: "p", quota }, resources: { ...leaseSpec("x").resources, gpuMemory: 6 * GiB } });

  it("makes the minimum instances, then grows to max, then fails with verdicts per instance", () => {
    const w = world(2);
    const d = w.step({ _tag: "PoolDefined", at: 0, spec: poolSpec("p") });
    expect(tagged(d.intents, "EnsureServer")).toHaveLength(1);
    const a = w.step({ _tag: "LeaseRequested", at: 1, id: "l1", spec: leaseSpec("a", inPool()) });
    expect(tagged(a.intents, "RecordDecision")[0]!.decision.outcome).toBe("BoundToServer");
    w.step({ _tag: "LeaseRequested", at: 1, id: "l2", spec: leaseSpec("b", inPool()) });
    const c = w.step({ _tag: "LeaseRequested", at: 1, id: "l3", spec: leaseSpec("c", inPool()) });
    expect(tagged(c.intents, "EnsureServer")).toHaveLength(1);
    w.step({ _tag: "LeaseRequested", at: 1, id: "l4", spec: leaseSpec("d", inPool()) });
    const e = w.step({ _tag: "LeaseRequested", at: 1, id: "l5", spec: leaseSpec("e", inPool()) });
    const decision = tagged(e.intents, "RecordDecision")[0]!.decision;
    expect(decision.outcome).toBe("ResourceExhausted");
    expect(decision.serverVerdicts?.filter((v) => v.code === "NotNow")).toHaveLength(2);
    expect(decision.serverVerdicts?.[0]?.reasons[0]).toMatchObject({ plugin: "GpuMemoryRoom", reason: "InsufficientGpuMemory" });
  });

  it("a lease over the pool's quota per instance is Unsatisfiable", () => {
    const w = world();
    w.step({ _tag: "PoolDefined", at: 0, spec: poolSpec("p") });
    const r = w.step({ _tag: "LeaseRequested", at: 1, id: "l1", spec: leaseSpec("a", { ...inPool(20 * GiB), resources: { ...leaseSpec("x").resources, gpuMemory: 10 * GiB } }) });
    expect(tagged(r.intents, "MarkFailed")[0]?.reason.code).toBe("Unsatisfiable");
  });

  it("a pool lease names a missing pool: Failed PoolMissing", () => {
    const r = world().step({ _tag: "LeaseRequested", at: 1, id: "l1", spec: leaseSpec("a", inPool()) });
    expect(tagged(r.intents, "MarkFailed")[0]?.reason.code).toBe("PoolMissing");
  });

  it("evicts a warm (expired) lease on an instance to make room, never a protected one", () => {
    const w = world();
    w.step({ _tag: "PoolDefined", at: 0, spec: poolSpec("p", { maxInstances: 1 }) });
    const serverId = Object.keys(w.snapshot.servers)[0]!;
    w.step({ _tag: "ServerObserved", at: 0, serverId, state: "Up", readyReplicas: 1 });
    w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a", inPool()) });
    w.step({ _tag: "ModelsLoaded", at: 0, serverId, leaseId: "l1", measuredMemory: 6 * GiB });
    w.step({ _tag: "LeaseRequested", at: 0, id: "l2", spec: leaseSpec("b", { ...inPool(), minDuration: 10 * 60_000, models: [{ name: "other", repository: "repo" }] }) });
    w.step({ _tag: "ModelsLoaded", at: 0, serverId, leaseId: "l2", measuredMemory: 6 * GiB });
    w.step({ _tag: "Tick", at: 60_000 });
    expect(w.snapshot.leases["l1"]!.phase).toBe("Expiring");
    const r = w.step({ _tag: "LeaseRequested", at: 61_000, id: "l3", spec: leaseSpec("c", { ...inPool(), models: [{ name: "third", repository: "repo" }] }) });
    const decision = tagged(r.intents, "RecordDecision").find((d) => d.decision.kind === "Placement")!.decision;
    expect(decision.outcome).toBe("BoundAfterEviction");
    expect(decision.victims).toEqual(["l1"]);
    expect(w.snapshot.leases["l1"]!.phase).toBe("Released");
    expect(w.snapshot.leases["l2"]!.phase).toBe("Ready");
    expect(w.snapshot.leases["l3"]!.placement?.serverId).toBe(serverId);
  });
});

describe("decide: co-location", () => {
  it("bespoke leases that refuse each other get servers on different nodes, and the verdicts say why", () => {
    const w = world(2);
    const a = w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a") });
    const nodeA = tagged(a.intents, "EnsureServer")[0]!.node;
    const b = w.step({ _tag: "LeaseRequested", at: 0, id: "l2", spec: leaseSpec("b", { colocation: { with: [], notWith: ["a"] } }) });
    expect(tagged(b.intents, "EnsureServer")[0]!.node).not.toBe(nodeA);
    const verdict = tagged(b.intents, "RecordDecision")[0]!.decision.nodeVerdicts!.find((v) => v.candidate === nodeA)!;
    expect(verdict.reasons[0]).toMatchObject({ plugin: "Colocation", reason: "NotWithPresent" });
    // The rule holds both ways: a third lease that "a" refuses... and one that must sit with "a".
    const c = w.step({ _tag: "LeaseRequested", at: 0, id: "l3", spec: leaseSpec("c", { colocation: { with: ["a"], notWith: [] } }) });
    expect(tagged(c.intents, "EnsureServer")[0]!.node).toBe(nodeA);
  });

  it("with no node left by the rules, the lease fails as exhausted", () => {
    const w = world(1);
    w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a") });
    const b = w.step({ _tag: "LeaseRequested", at: 0, id: "l2", spec: leaseSpec("b", { colocation: { with: [], notWith: ["a"] } }) });
    expect(tagged(b.intents, "MarkFailed")[0]?.reason.code).toBe("ResourceExhausted");
  });

  it("pool leases that refuse each other land on different instances", () => {
    const w = world(2);
    w.step({ _tag: "PoolDefined", at: 0, spec: poolSpec("p", { minInstances: 2 }) });
    const inPool = { where: { kind: "pool" as const, pool: "p", quota: 8 * GiB } };
    w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a", inPool) });
    w.step({ _tag: "LeaseRequested", at: 0, id: "l2", spec: leaseSpec("b", { ...inPool, colocation: { with: [], notWith: ["a"] } }) });
    expect(w.snapshot.leases["l1"]!.placement!.serverId).not.toBe(w.snapshot.leases["l2"]!.placement!.serverId);
  });
});

describe("decide: autoscaling", () => {
  it("scales a bespoke lease within [min, max] every sync period", () => {
    const w = world(1, 4);
    const autoscaling = { metric: "queue_time", target: 100, minReplicas: 1, maxReplicas: 3, policy: "hpa" as const };
    const serverId = readyLease(w, "a", 0, { autoscaling, minDuration: 3_600_000 });
    w.step({ _tag: "MetricObserved", at: 1000, leaseId: "id-a", sample: { value: 1000, readyReplicas: 1 } });
    const t = w.step({ _tag: "Tick", at: 20_000 });
    const scale = tagged(t.intents, "ScaleServer");
    expect(scale).toHaveLength(1);
    expect(scale[0]!.serverId).toBe(serverId);
    expect(scale[0]!.replicas).toBeGreaterThan(1);
    expect(scale[0]!.replicas).toBeLessThanOrEqual(3);
    expect(w.snapshot.servers[serverId]!.replicas).toHaveLength(scale[0]!.replicas);
  });
});

describe("decide: totality", () => {
  it("an unknown event, or a malformed one, is a rejection, not a throw", () => {
    const s = emptySnapshot();
    expect(decide(s, { _tag: "Bogus", at: 1 } as unknown as Event).rejections[0]?.code).toBe("InvalidArgument");
    const r = decide(s, { _tag: "LeaseRequested", at: 1, id: "x" } as unknown as Event);
    expect(r.rejections).toHaveLength(1);
    expect(r.snapshot).toBe(s);
  });

  it("decideOwned leaves the snapshot as it was on a rejection, and otherwise matches decide", () => {
    const w = world();
    w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a") });
    const json = JSON.stringify(w.snapshot);
    const dup = decideOwned(w.snapshot, { _tag: "LeaseRequested", at: 5, id: "l2", spec: leaseSpec("a") });
    expect(dup.rejections[0]?.code).toBe("AlreadyExists");
    expect(JSON.stringify(dup.snapshot)).toBe(json);
    const event = { _tag: "LeaseRequested", at: 5, id: "l3", spec: leaseSpec("b") } as const;
    const pure = decide(w.snapshot, event);
    const owned = decideOwned(JSON.parse(json), event);
    expect(JSON.stringify(owned)).toBe(JSON.stringify(pure));
  });

  it("an event without a time is a rejection, not a throw", () => {
    const s = emptySnapshot();
    const r = decide(s, { _tag: "Tick", at: Number.NaN });
    expect(r.rejections[0]?.code).toBe("InvalidArgument");
    expect(r.snapshot).toBe(s);
  });
});
