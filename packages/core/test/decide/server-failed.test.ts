// A server that failed for good (ServerObserved Gone with a failure): its leases fail with the
// backend's words instead of being placed again, warm ones still just end; without a failure
// (the server merely vanished) they are placed again as before.
import { describe, expect, it } from "vitest";
import { GiB } from "../../src/units.js";
import { leaseSpec, node, tagged, World } from "./fixtures.js";

const FAILURE = "replica srv-1-0 StartFailed: server exited with code 3 before it was ready\nlast log lines:\ncannot open /models";

const placed = (w: World, name: string, at = 0) => {
  const requested = w.step({ _tag: "LeaseRequested", at, id: `id-${name}`, spec: leaseSpec(name) });
  return tagged(requested.intents, "EnsureServer")[0]!.serverId;
};

describe("decide: a server that failed for good", () => {
  it("fails the leases waiting on it with the failure as their message, and places nothing again", () => {
    const w = new World();
    w.step({ _tag: "NodeObserved", at: 0, node: node("n0", 2) });
    const serverId = placed(w, "a");
    const r = w.step({ _tag: "ServerObserved", at: 5, serverId, state: "Gone", readyReplicas: 0, failure: FAILURE });
    expect(tagged(r.intents, "EnsureServer")).toEqual([]);
    const lease = w.lease("a")!;
    expect(lease.phase).toBe("Failed");
    expect(lease.failure).toEqual({ code: "ServerFailed", message: FAILURE, details: { serverId } });
    expect(tagged(r.intents, "MarkFailed")).toEqual([{ _tag: "MarkFailed", leaseId: "id-a", reason: lease.failure }]);
    expect(w.snapshot.servers[serverId]).toBeUndefined();
    // Its GPU memory is free again.
    expect(w.snapshot.nodes["n0"]!.use.gpus.every((g) => g.memory === 0)).toBe(true);
  });

  it("fails a Ready lease too, but a lease that was already expiring just ends", () => {
    const w = new World();
    w.step({ _tag: "NodeObserved", at: 0, node: node("n0", 2) });
    const serverId = placed(w, "a");
    w.step({ _tag: "ServerObserved", at: 1, serverId, state: "Up", readyReplicas: 1 });
    w.step({ _tag: "ModelsLoaded", at: 2, serverId, leaseId: "id-a", measuredMemory: 3 * GiB });
    expect(w.lease("a")!.phase).toBe("Ready");
    w.step({ _tag: "ServerObserved", at: 3, serverId, state: "Gone", readyReplicas: 0, failure: FAILURE });
    expect(w.lease("a")!.phase).toBe("Failed");
    expect(w.lease("a")!.failure?.message).toBe(FAILURE);
  });

  it("without a failure the leases are placed again on a new server (the server only vanished)", () => {
    const w = new World();
    w.step({ _tag: "NodeObserved", at: 0, node: node("n0", 2) });
    const serverId = placed(w, "a");
    const r = w.step({ _tag: "ServerObserved", at: 5, serverId, state: "Gone", readyReplicas: 0 });
    expect(tagged(r.intents, "EnsureServer")).toHaveLength(1);
    expect(w.lease("a")!.phase).toBe("Placing");
    expect(w.lease("a")!.failure).toBeUndefined();
  });
});
