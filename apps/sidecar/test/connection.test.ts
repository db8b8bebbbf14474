import { describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, TestClock } from "effect";
import { berthdReconnectSchedule } from "../src/connection.js";

describe("berthdReconnectSchedule", () => {
  it.effect("backs off exponentially and never waits longer than the cap", () =>
    Effect.gen(function* () {
      let attempts = 0;
      const failing = Effect.suspend(() => {
        attempts += 1;
        return Effect.fail("berthd down");
      });
      const fiber = yield* Effect.fork(failing.pipe(Effect.retry(berthdReconnectSchedule("100 millis", "1 second"))));
      const attemptsAt: number[] = [];
      for (let t = 0; t < 50; t++) {
        yield* TestClock.adjust("100 millis");
        attemptsAt.push(attempts);
      }
      yield* Fiber.interrupt(fiber);
      // Retries after 100, 200, 400, 800 ms, then every 1000 ms (the cap): at 0.1 s, 0.3, 0.7, 1.5, 2.5, 3.5, 4.5 ...
      expect(attemptsAt[0]).toBe(2);
      expect(attemptsAt[2]).toBe(3);
      expect(attemptsAt[6]).toBe(4);
      expect(attemptsAt[14]).toBe(5);
      expect(attemptsAt[24]).toBe(6);
      expect(attemptsAt[49]).toBe(8); // t = 5 s: attempts at 0, 0.1, 0.3, 0.7, 1.5, 2.5, 3.5, 4.5
    }),
  );
});
