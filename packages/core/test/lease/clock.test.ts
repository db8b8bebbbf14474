import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expiresAt, heldUntil, isExpired, nextDeadline, recordActivity, renew, withExpiry } from "../../src/lease/clock.js";
import type { LeaseRecord } from "../../src/lease/types.js";

const lease = (over: { createdAt?: number; readyAt?: number | null; minDuration?: number; enabled?: boolean; window?: number; lastActivityAt?: number; renewedUntil?: number; phase?: LeaseRecord["phase"]; id?: string } = {}): LeaseRecord => {
  const base = {
    id: over.id ?? "l",
    phase: over.phase ?? "Ready",
    createdAt: over.createdAt ?? 1000,
    // Ready when created unless told otherwise (null: never Ready yet).
    ...(over.readyAt === null ? {} : { readyAt: over.readyAt ?? over.createdAt ?? 1000 }),
    lastActivityAt: over.lastActivityAt ?? over.createdAt ?? 1000,
    renewedUntil: over.renewedUntil ?? 0,
    recentGaps: [],
    requests: 0,
    expiresAt: 0,
    spec: { minDuration: over.minDuration ?? 60_000, renewal: { enabled: over.enabled ?? true, activityWindow: over.window ?? 30_000 } },
  } as unknown as LeaseRecord;
  return withExpiry(base);
};

describe("lease clock", () => {
  it("holds a lease for its minimum duration", () => {
    const l = lease();
    expect(heldUntil(l)).toBe(61_000);
    expect(expiresAt(l)).toBe(61_000);
    expect(isExpired(l, 60_999)).toBe(false);
    expect(isExpired(l, 61_000)).toBe(true);
  });

  it("renews by activity only when renewal is on", () => {
    expect(expiresAt(recordActivity(lease(), 50_000, 1, 8))).toBe(80_000);
    expect(expiresAt(recordActivity(lease({ enabled: false }), 50_000, 1, 8))).toBe(61_000);
  });

  it("explicit renewal extends and never shortens", () => {
    const l = renew(lease(), 10_000, 200_000);
    expect(l.expiresAt).toBe(210_000);
    expect(renew(l, 20_000, 1000).expiresAt).toBe(210_000);
  });

  it("records activity gaps, bounded", () => {
    let l = lease();
    for (const at of [2000, 5000, 9000, 14_000]) l = recordActivity(l, at, 2, 2);
    expect(l.recentGaps).toEqual([4000, 5000]);
    expect(l.requests).toBe(8);
  });

  it("never expires before the minimum duration, whatever happens", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1e5 }),
        fc.array(fc.tuple(fc.constantFrom("activity", "renew"), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e5 }))),
        (createdAt, minDuration, enabled, window, ops) => {
          let l = lease({ createdAt, minDuration, enabled, window });
          for (const [op, dt, d] of ops) l = op === "renew" ? renew(l, createdAt + dt, d) : recordActivity(l, createdAt + dt, 1, 16);
          expect(l.expiresAt).toBe(expiresAt(l));
          expect(l.expiresAt).toBeGreaterThanOrEqual(createdAt + minDuration);
        },
      ),
    );
  });

  it("the clock runs from the first Ready, and not at all before it", () => {
    const loading = lease({ createdAt: 1000, readyAt: null, phase: "Loading", enabled: false });
    expect(isExpired(loading, 10_000_000)).toBe(false);
    expect(nextDeadline({ now: 10_000_000, leases: { loading } })).toBeUndefined();
    const slow = lease({ createdAt: 1000, readyAt: 21_000, enabled: false });
    expect(heldUntil(slow)).toBe(81_000);
    expect(isExpired(slow, 80_999)).toBe(false);
    expect(isExpired(slow, 81_000)).toBe(true);
  });

  it("nextDeadline is the earliest live expiry after now (now when one is already due)", () => {
    const leases = {
      a: lease({ id: "a", createdAt: 0, minDuration: 5000, enabled: false }),
      b: lease({ id: "b", createdAt: 0, minDuration: 3000, enabled: false }),
      c: lease({ id: "c", createdAt: 0, minDuration: 1000, phase: "Released", enabled: false }),
    };
    expect(nextDeadline({ now: 2000, leases })).toBe(3000);
    expect(nextDeadline({ now: 4000, leases })).toBe(4000);
    expect(nextDeadline({ now: 0, leases: {} })).toBeUndefined();
  });
});
