// Readiness as KServe v2 defines it: GET /v2/health/ready answers 200.
import { Duration, Effect, Schedule } from "effect";

export const READY_PATH = "/v2/health/ready";

/** One probe: true on 200, false on any other answer or no answer within `timeoutMs`. */
export const probeReady = (host: string, port: number, timeoutMs = 1000): Effect.Effect<boolean> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${port}${READY_PATH}`, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.arrayBuffer();
      return response.status === 200;
    },
    catch: () => false,
  }).pipe(Effect.orElseSucceed(() => false));

/** The first pause between probes of a starting server. */
export const FIRST_PROBE_DELAY_MS = 20;
const PROBE_BACKOFF_FACTOR = 1.15;

/**
 * Pauses between readiness probes of a server that just started: short at first, growing by
 * 15% each time up to `intervalMs`. A bundled model server is ready a few hundred ms
 * after its start, where a fixed 200 ms interval lost 100 ms on average; a refused connection
 * costs next to nothing, and a server that takes long is soon probed at `intervalMs` only.
 */
export const readinessSchedule = (intervalMs: number): Schedule.Schedule<Duration.Duration> =>
  Schedule.exponential(Duration.millis(Math.min(FIRST_PROBE_DELAY_MS, intervalMs)), PROBE_BACKOFF_FACTOR).pipe(
    Schedule.union(Schedule.spaced(Duration.millis(intervalMs))),
    Schedule.map(([delay]) => delay),
  );
