// Readiness as KServe v2 defines it: GET /v2/health/ready answers 200.
import { Effect } from "effect";

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
