import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockKeepalives } from "../../src/store/postgres-leader.js";

// PostgreSQL must not hand a silent leader's lock to another replica before that leader has
// noticed the silence itself: its heartbeat plus the heartbeat's query_timeout (two intervals,
// at least a second) must end before the server's keepalives give up on the connection.

describe("lock connection keepalives", () => {
  it("outlast the leader's own detection of a silent connection, for any heartbeat interval", () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 600_000 }), (heartbeatMs) => {
        const k = lockKeepalives(heartbeatMs);
        const serverGivesUpMs = (k.idle + k.interval * k.count) * 1000;
        const leaderNoticesMs = heartbeatMs + Math.max(1000, heartbeatMs * 2);
        expect(Number.isInteger(k.idle) && Number.isInteger(k.interval)).toBe(true);
        expect(serverGivesUpMs).toBeGreaterThan(leaderNoticesMs);
      }),
    );
  });
});
