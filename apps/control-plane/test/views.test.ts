import { Either } from "effect";
import { describe, expect, it } from "vitest";
import { decide, emptySnapshot, expiresAt, validateLeaseSpec, type Event, type Snapshot } from "@berth/core";
import { leaseView } from "../src/api/views.js";

// What Get/List report of a lease's clock: held until it expires by core's clock rules (minimum
// duration from its first Ready, explicit renewals, activity renewal), not the renewals alone.

const MINUTE = 60_000;
/** A view's timestamp in epoch ms (undefined when the view has none). */
const ms = (t: { readonly seconds?: number | null; readonly nanos?: number | null } | null | undefined): number | undefined =>
  t === null || t === undefined ? undefined : (t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
const node = { name: "n1", cpu: 8000, memory: 16 * 2 ** 30, state: "Ready" as const, gpus: [{ index: 0, model: "A10", memory: 8 * 2 ** 30 }] };
const spec = Either.getOrThrow(
  validateLeaseSpec({ name: "web", models: ["simple@demo"], resources: { gpuMemory: "1Gi" }, minDuration: "10m", renewal: { enabled: true, activityWindow: "5m" } }),
);

const step = (snapshot: Snapshot, event: Event): Snapshot => {
  const result = decide(snapshot, event);
  expect(result.rejections).toEqual([]);
  return result.snapshot;
};

describe("leaseView", () => {
  it("reports heldUntil as the lease's expiry by core's clock rules", () => {
    let s = step(emptySnapshot({ now: 0 }), { _tag: "NodeObserved", at: 0, node });
    s = step(s, { _tag: "LeaseRequested", at: 1_000, id: "l-1", spec });
    const placed = s.leases["l-1"]!;
    // Never renewed explicitly: the old view said nothing at all (renewedUntil is 0).
    expect(placed.renewedUntil).toBe(0);
    expect(ms(leaseView(s, placed).heldUntil)).toBe(expiresAt(placed));
    const serverId = placed.placement!.serverId;
    s = step(s, { _tag: "ServerObserved", at: 2_000, serverId, state: "Up", readyReplicas: 1 });
    s = step(s, { _tag: "ModelsLoaded", at: 5_000, serverId, leaseId: "l-1", measuredMemory: 2 ** 29 });
    const ready = s.leases["l-1"]!;
    expect(ready.phase).toBe("Ready");
    // The minimum duration runs from first Ready; the activity window (5m) ends sooner.
    expect(ms(leaseView(s, ready).heldUntil)).toBe(5_000 + 10 * MINUTE);
    // Activity renews it past the minimum duration.
    s = step(s, { _tag: "Activity", at: 8 * MINUTE, model: "simple", requests: 1 });
    expect(ms(leaseView(s, s.leases["l-1"]!).heldUntil)).toBe(13 * MINUTE);
    // An explicit renewal moves it further.
    s = step(s, { _tag: "LeaseRenewed", at: 9 * MINUTE, name: "web", duration: 60 * MINUTE });
    const view = leaseView(s, s.leases["l-1"]!);
    expect(ms(view.heldUntil)).toBe(69 * MINUTE);
    expect(ms(view.heldUntil)).toBe(ms(view.expiresAt));
  });
});
