// A backend whose start needs its engine or API (Docker lists its containers, Kubernetes its
// objects, to adopt what runs) must not take the control plane down with it when that engine is
// away at start: that is passing trouble, as it is once running. The start is tried at once; if
// it fails as Unavailable, the error is logged (it names the engine) and the start is retried in
// the background, forever, while the backend answers every call with that error (callers retry
// Unavailable) and its watch waits. Any other failure (a bad configuration) still fails at once.
import { Deferred, Effect, Either, ExecutionStrategy, Exit, Option, Schedule, Scope, Stream } from "effect";
import type { BackendAutoscalerShape, BackendCapabilities, BackendShape, LeaseRoutingShape } from "./backend.js";
import { backendError, type BackendError } from "./errors.js";

/** Starts retried after the first failed: 500 ms doubling, each wait capped at 10 s, forever. */
export const backendStartRetry = Schedule.exponential("500 millis", 2).pipe(Schedule.either(Schedule.spaced("10 seconds")));

export interface RetryingStartOptions {
  /** The backend's registry name (errors carry it). */
  readonly name: string;
  /** What the started backend will have: answered before it has started. */
  readonly capabilities: BackendCapabilities;
  /** Whether the started backend routes leases (its leaseRouting, forwarded once started). */
  readonly leaseRouting: boolean;
  /** The default mode of the started backend's own autoscaler (its leaseRouting.autoscaler, forwarded once started); absent: none. */
  readonly autoscalerDefaultMode?: "hpa" | "builtin";
  readonly schedule?: Schedule.Schedule<unknown, BackendError>;
}

const isUnavailable = (e: BackendError): boolean => e.reason._tag === "Unavailable";

/**
 * `start` as a backend that is there at once. Each try runs in a scope of its own, closed when
 * it fails (a half-made start leaves nothing behind), kept with the caller's once it succeeds.
 */
export const retryingStart = (
  start: Effect.Effect<BackendShape, BackendError, Scope.Scope>,
  options: RetryingStartOptions,
): Effect.Effect<BackendShape, BackendError, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope;
    const attempt = Effect.gen(function* () {
      const child = yield* Scope.fork(scope, ExecutionStrategy.sequential);
      return yield* start.pipe(
        Scope.extend(child),
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(child, exit))),
      );
    });
    const first = yield* Effect.either(attempt);
    if (Either.isRight(first)) return first.right;
    if (!isUnavailable(first.left)) return yield* Effect.fail(first.left);

    let last: BackendError = first.left;
    /** What went wrong, without the error's own "<backend>: unavailable:" prefix. */
    const why = (e: BackendError) => (e.reason._tag === "Unavailable" ? e.reason.message : e.message);
    const annotations = (e: BackendError) => ({ backend: options.name, error: e.message });
    yield* Effect.logError(`${options.name} backend: cannot start: ${why(first.left)}; retrying until it answers, calls are Unavailable meanwhile`).pipe(
      Effect.annotateLogs(annotations(first.left)),
    );
    const started = yield* Deferred.make<BackendShape, BackendError>();
    yield* Effect.forkScoped(
      attempt.pipe(
        Effect.tapError((e) =>
          Effect.sync(() => (last = e)).pipe(
            Effect.zipRight(Effect.logWarning(`${options.name} backend: still cannot start; retrying`).pipe(Effect.annotateLogs(annotations(e)))),
          ),
        ),
        Effect.retry({ schedule: options.schedule ?? backendStartRetry, while: isUnavailable }),
        Effect.tap(() => Effect.logInfo(`${options.name} backend: started, now that it can be reached`).pipe(Effect.annotateLogs({ backend: options.name }))),
        Effect.tapError((e) => Effect.logError(`${options.name} backend: cannot start, and retrying cannot help`).pipe(Effect.annotateLogs(annotations(e)))),
        Effect.exit,
        Effect.flatMap((exit) => Deferred.done(started, exit)),
      ),
    );

    const notYet = () =>
      backendError(options.name, {
        _tag: "Unavailable",
        message: `not started yet, retrying: ${why(last)}`,
      });
    /** The started backend, or the reason it is not there (Unavailable while retrying, the final error after). */
    const backend: Effect.Effect<BackendShape, BackendError> = Effect.flatMap(Deferred.poll(started), (done) =>
      Option.isSome(done) ? done.value : Effect.fail(notYet()),
    );
    const withBackend = <A>(use: (b: BackendShape) => Effect.Effect<A, BackendError>) => Effect.flatMap(backend, use);
    const routing = (use: (r: LeaseRoutingShape) => Effect.Effect<void, BackendError>) =>
      withBackend((b) => (b.leaseRouting === undefined ? Effect.fail(backendError(options.name, { _tag: "Unavailable", message: "no lease routing" })) : use(b.leaseRouting)));

    const autoscalerOf = <A>(use: (a: BackendAutoscalerShape) => Effect.Effect<A, BackendError>) =>
      withBackend((b) => (b.leaseRouting?.autoscaler === undefined ? Effect.fail(backendError(options.name, { _tag: "Unavailable", message: "no autoscaler" })) : use(b.leaseRouting.autoscaler)));
    const forwardedAutoscaler = (defaultMode: "hpa" | "builtin"): BackendAutoscalerShape => ({
      defaultMode,
      ensureLeaseAutoscaler: (spec, replicas) => autoscalerOf((a) => a.ensureLeaseAutoscaler(spec, replicas)),
      syncScaleTarget: (serverId, replicas) => autoscalerOf((a) => a.syncScaleTarget(serverId, replicas)),
      deleteLeaseAutoscaler: (lease) => autoscalerOf((a) => a.deleteLeaseAutoscaler(lease)),
    });

    const shape: BackendShape = {
      name: options.name,
      capabilities: options.capabilities,
      ensureServer: (spec) => withBackend((b) => b.ensureServer(spec)),
      scale: (serverId, replicas, placements) => withBackend((b) => b.scale(serverId, replicas, placements)),
      deleteServer: (serverId) => withBackend((b) => b.deleteServer(serverId)),
      list: () => withBackend((b) => b.list()),
      // Nothing to observe before the start: the watch waits for it, then is the backend's own.
      watch: () => Stream.unwrap(Effect.map(Deferred.await(started), (b) => b.watch())),
      ...(options.leaseRouting
        ? {
            leaseRouting: {
              autoscaling: "builtin" as const,
              ensureLeaseRoute: (lease, serverIds) => routing((r) => r.ensureLeaseRoute(lease, serverIds)),
              deleteLeaseRoute: (lease) => routing((r) => r.deleteLeaseRoute(lease)),
              leaseRoutes: () => withBackend((b) => (b.leaseRouting === undefined ? Effect.succeed([]) : b.leaseRouting.leaseRoutes())),
              setLeaseMember: (serverId, index, lease, member) => routing((r) => r.setLeaseMember(serverId, index, lease, member)),
              ...(options.autoscalerDefaultMode !== undefined ? { autoscaler: forwardedAutoscaler(options.autoscalerDefaultMode) } : {}),
            } satisfies LeaseRoutingShape,
          }
        : {}),
    };
    return shape;
  });
