// Waiting on observations, for the executor and for tests: the first state of a server that
// satisfies a condition, through list() (the state now) then watch() (every change after).
import { Duration, Effect, Option, Stream } from "effect";
import type { BackendShape } from "./backend.js";
import { backendError, type BackendError } from "./errors.js";
import type { ObservedServer } from "./observation.js";

/** The server's observations (undefined while it does not exist), starting with its state now. */
export function serverStates(backend: BackendShape, serverId: string): Stream.Stream<ObservedServer | undefined, BackendError> {
  const now = Stream.fromEffect(backend.list().pipe(Effect.map((all) => all.find((s) => s.serverId === serverId))));
  const changes = backend.watch().pipe(
    Stream.filter((o) => (o._tag === "Observed" ? o.server.serverId === serverId : o.serverId === serverId)),
    Stream.map((o) => (o._tag === "Observed" ? o.server : undefined)),
  );
  return Stream.concat(now, changes);
}

/** The first state of the server for which `done` holds; Unavailable after `timeout`. */
export const awaitServer = (
  backend: BackendShape,
  serverId: string,
  done: (server: ObservedServer | undefined) => boolean,
  timeout: Duration.DurationInput,
  what = "the expected state",
): Effect.Effect<ObservedServer | undefined, BackendError> =>
  serverStates(backend, serverId).pipe(
    Stream.filter(done),
    Stream.runHead,
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.fail(backendError(backend.name, { _tag: "Unavailable", message: `observations of ${serverId} ended` })),
        onSome: Effect.succeed,
      }),
    ),
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => backendError(backend.name, { _tag: "Unavailable", message: `${serverId} did not reach ${what} within ${Duration.format(Duration.decode(timeout))}` }),
    }),
  );

/**
 * Until every desired replica of the server is Ready. A Failed replica fails it with
 * StartFailed and that replica's log tail; a server that disappears, with NotFound.
 */
export const awaitReady = (backend: BackendShape, serverId: string, timeout: Duration.DurationInput): Effect.Effect<ObservedServer, BackendError> =>
  awaitServer(
    backend,
    serverId,
    (s) => s === undefined || s.replicas.some((r) => r.state === "Failed") || (s.replicas.length === s.desiredReplicas && s.replicas.every((r) => r.state === "Ready")),
    timeout,
    "all replicas Ready",
  ).pipe(
    Effect.flatMap((s) => {
      if (s === undefined) return Effect.fail(backendError(backend.name, { _tag: "NotFound", serverId }));
      const failed = s.replicas.find((r) => r.state === "Failed");
      if (failed === undefined) return Effect.succeed(s);
      return Effect.fail(
        backendError(backend.name, {
          _tag: "StartFailed",
          replicaId: failed.replicaId,
          message: failed.lastError?.message ?? "failed",
          logTail: failed.lastError?.logTail ?? "",
          ...(failed.lastError?.exitCode !== undefined ? { exitCode: failed.lastError.exitCode } : {}),
        }),
      );
    }),
  );
