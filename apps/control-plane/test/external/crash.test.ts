import { describe, expect, it } from "vitest";
import { runCrashRounds } from "./crash-workload.js";

// kill -9 berthd (a child process on SQLite) at seeded random moments while clients create,
// renew and release leases; restart it on the same state directory each time. Nothing berthd
// acknowledged may be lost or rolled back, and everything converges. bench/soak.ts is the
// longer run with figures.

describe("berthd crash safety (kill -9 during lease operations)", () => {
  it("keeps every acknowledged operation across kills and converges", async () => {
    const seed = Number(process.env.BERTH_CRASH_SEED ?? 424242);
    const report = await runCrashRounds({ seed, rounds: 3, workers: 4, killAfterMs: [300, 1500], snapshotEvery: 20 });
    expect(report.violations, `seed ${seed}`).toEqual([]);
    expect(report.rounds).toHaveLength(3);
    // The kills landed in real work: each round waited for 5 acknowledged operations, then more came.
    const acknowledged = (r: (typeof report.rounds)[number]) => r.acknowledged.create + r.acknowledged.renew + r.acknowledged.release;
    for (const round of report.rounds) expect(acknowledged(round), `round ${round.round}`).toBeGreaterThanOrEqual(5);
    expect(report.rounds.at(-1)!.leasesChecked).toBeGreaterThan(0);
  }, 240_000);
});
