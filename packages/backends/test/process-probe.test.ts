// The pauses between readiness probes of a starting replica: short first, growing to the
// configured interval and never past it.
import { Chunk, Duration, Effect, Schedule } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FIRST_PROBE_DELAY_MS, readinessSchedule } from "../src/process/probe.js";

const delaysOf = (intervalMs: number, n: number): number[] =>
  Chunk.toArray(
    Effect.runSync(
      Schedule.run(
        Schedule.delays(readinessSchedule(intervalMs)).pipe(
          Schedule.intersect(Schedule.recurs(n)),
          Schedule.map(([d]) => d),
        ),
        0,
        Array.from({ length: n }, () => undefined),
      ),
    ),
  ).map(Duration.toMillis);

describe("readinessSchedule", () => {
  it("starts at the first delay and grows by 15%, up to the interval", () => {
    const delays = delaysOf(200, 20);
    expect(delays[0]).toBe(FIRST_PROBE_DELAY_MS);
    expect(delays[1]).toBeCloseTo(FIRST_PROBE_DELAY_MS * 1.15, 6);
    expect(delays.at(-1)).toBe(200);
  });

  it("never waits longer than the interval, never shrinks, and reaches the interval", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), (interval) => {
        const delays = delaysOf(interval, 80);
        expect(delays.every((d) => d <= interval)).toBe(true);
        expect(delays.every((d, i) => i === 0 || d >= delays[i - 1]!)).toBe(true);
        expect(delays.at(-1)).toBe(interval);
      }),
    );
  });

  it("finds a server that gets ready 0.2-0.8 s after its start sooner than a fixed interval does", () => {
    const probeTimes = (delays: number[]) => delays.reduce<number[]>((at, d) => [...at, at.at(-1)! + d], [0]);
    const meanLoss = (times: number[]) => {
      const readyAt = Array.from({ length: 601 }, (_, i) => 200 + i);
      return readyAt.reduce((sum, t) => sum + times.find((p) => p >= t)! - t, 0) / readyAt.length;
    };
    const backoff = meanLoss(probeTimes(delaysOf(200, 30)));
    const fixed = meanLoss(probeTimes(Array.from({ length: 30 }, () => 200)));
    expect(Math.round(fixed)).toBe(99);
    expect(backoff, `mean wait ${backoff.toFixed(1)} ms`).toBeLessThan(fixed * 0.6);
  });
});
