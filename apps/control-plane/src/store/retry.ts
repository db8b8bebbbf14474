import { Effect, Schedule } from "effect";
import type { StoreError } from "./errors.js";

/**
 * Transient database failures (a dropped connection, a serialisation failure, a server
 * restarting) are retried: 50 ms doubling, each wait capped at 1 s, five retries at most
 * (about 1.5 s in all) before the caller sees Unavailable.
 */
export const transientRetry = Schedule.exponential("50 millis", 2).pipe(
  Schedule.either(Schedule.spaced("1 second")),
  Schedule.intersect(Schedule.recurs(5)),
);

export const retryTransient = <A, R>(effect: Effect.Effect<A, StoreError, R>): Effect.Effect<A, StoreError, R> =>
  Effect.retry(effect, { schedule: transientRetry, while: (error) => error.retryable === true });
