import { describe, expect, it } from "vitest";
import { nextWakeUp } from "../../src/decide/index.js";
import { leaseSpec, node, tagged, World } from "./fixtures.js";

// The lease clock runs from the first Ready: a lease still being placed or loaded is never
// expired by a Tick, however long that takes (it can still be released or fail).

const noRenewal = { minDuration: 1_000, renewal: { enabled: false, activityWindow: 0 } };

const world = () => {
  const w = new World();
  w.step({ _tag: "NodeObserved", at: 0, node: node("n0") });
  return w;
};

describe("decide: expiry before Ready", () => {
  it("a lease past its minimum duration while Placing and Loading is not expired, and its clock starts at Ready", () => {
    const w = world();
    const requested = w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a", noRenewal) });
    const serverId = tagged(requested.intents, "EnsureServer")[0]!.serverId;

    // Placing, well past createdAt + minDuration: no wake-up is due for it, and a Tick leaves it alone.
    expect(nextWakeUp(w.snapshot)).not.toBe(w.snapshot.now);
    w.step({ _tag: "Tick", at: 5_000 });
    expect(w.lease("a")!.phase).toBe("Placing");

    w.step({ _tag: "ServerObserved", at: 6_000, serverId, state: "Up", readyReplicas: 1 });
    expect(w.lease("a")!.phase).toBe("Loading");
    w.step({ _tag: "Tick", at: 8_000 });
    expect(w.lease("a")!.phase).toBe("Loading");

    w.step({ _tag: "ModelsLoaded", at: 9_000, serverId, leaseId: "l1", measuredMemory: 1024 });
    const ready = w.lease("a")!;
    expect(ready.phase).toBe("Ready");
    expect(ready.readyAt).toBe(9_000);
    expect(ready.expiresAt).toBe(10_000);
    expect(nextWakeUp(w.snapshot)).toBe(10_000);

    w.step({ _tag: "Tick", at: 9_999 });
    expect(w.lease("a")!.phase).toBe("Ready");
    const expired = w.step({ _tag: "Tick", at: 10_000 });
    expect(expired.changes).toContainEqual({ leaseId: "l1", from: "Ready", to: "Expiring" });
  });

  it("a lease that never became Ready can still be released", () => {
    const w = world();
    w.step({ _tag: "LeaseRequested", at: 0, id: "l1", spec: leaseSpec("a", noRenewal) });
    w.step({ _tag: "Tick", at: 60_000 });
    expect(w.lease("a")!.phase).toBe("Placing");
    const released = w.step({ _tag: "LeaseReleased", at: 61_000, name: "a" });
    expect(released.changes.at(-1)).toMatchObject({ leaseId: "l1", to: "Released" });
  });
});
