import { Clock, Context, Deferred, Duration, Effect, FiberSet, Layer, Queue, Schedule, Stream } from "effect";
import type { EventOf, Intent, Snapshot } from "@berth/core";
import { Backend, type BackendShape } from "@berth/backends/backend";
import type { BackendError } from "@berth/backends/errors";
import { serverCondition, type ObservedServer, type ServerObservation } from "@berth/backends/observation";
import type { ServerSpec } from "@berth/backends/spec";
import { ApiAddress } from "../api/address.js";
import { BerthdConfig, type BerthdConfigShape } from "../config/config.js";
import { Engine, type Commit, type EngineShape } from "../engine/engine.js";
import { logDebug, logError, logInfo, logWarn } from "../log.js";
import { makeLanes } from "./lanes.js";
import { Metrics } from "../metrics/metrics.js";
import type { StoreError } from "../store/errors.js";
import { SidecarHub } from "./sidecar-hub.js";
import { specFromIntent, specFromRecord } from "./server-spec.js";

/**
 * Backend calls that fail for a passing reason (the engine or API unreachable) are retried:
 * 200 ms doubling, each wait capped at 5 s, six retries (about 15 s) before the executor gives up.
 */
export const backendRetry = Schedule.exponential("200 millis", 2).pipe(Schedule.either(Schedule.spaced("5 seconds")), Schedule.intersect(Schedule.recurs(6)));

/** After a server could not be made at all, wait this long before reporting it gone (a crash-loop backoff: decide places its leases again). */
export const failedServerBackoff = Duration.seconds(5);

/** The watch is restarted when it breaks: 500 ms doubling, capped at 10 s, forever. */
export const watchRestart = Schedule.exponential("500 millis", 2).pipe(Schedule.either(Schedule.spaced("10 seconds")));

const retryable = (error: BackendError): boolean => error.reason._tag === "Unavailable";

/** A failure's log tail is kept to its end: this many characters (the lease's reason, not the whole log). */
const FAILURE_TAIL_CHARS = 4000;

const withTail = (message: string, logTail: string): string => {
  const tail = logTail.trim();
  if (tail === "") return message;
  return `${message}; its log ends:\n${tail.length > FAILURE_TAIL_CHARS ? `...${tail.slice(-FAILURE_TAIL_CHARS)}` : tail}`;
};

/**
 * Why a server failed for good, as its leases' Failed reason: the backend's account of its first
 * failed replica with the end of that replica's logs. Undefined when no replica says why.
 */
export const serverFailure = (server: ObservedServer): string | undefined => {
  const failed = server.replicas.filter((r) => r.state === "Failed" && r.lastError !== undefined);
  const first = failed[0];
  if (first === undefined) return undefined;
  const e = first.lastError!;
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more replica${failed.length > 2 ? "s" : ""})` : "";
  return withTail(`server ${server.serverId} failed: replica ${first.replicaId}${more}: ${e.reason}: ${e.message}`, e.logTail);
};

/**
 * Why a server could not be made at all, when retrying cannot help (the spec, the image, the
 * backend's configuration, a start that failed); undefined for passing trouble (Unavailable,
 * NotFound), after which its leases are placed again.
 */
export const ensureFailure = (serverId: string, error: BackendError): string | undefined => {
  const r = error.reason;
  switch (r._tag) {
    case "InvalidSpec":
    case "ImageNotFound":
    case "InvalidConfig":
      return `server ${serverId} could not be made: ${error.message}`;
    case "StartFailed":
      return withTail(`server ${serverId} could not be made: ${error.message}`, r.logTail);
    case "Unavailable":
    case "NotFound":
      return undefined;
  }
};

const withRetry = <A>(effect: Effect.Effect<A, BackendError>) => Effect.retry(effect, { schedule: backendRetry, while: retryable });

export interface ExecutorShape {
  /** Servers converged (adopted or recreated) and cleaned up by the start-up reconciliation, once it is done. */
  readonly reconciled: Effect.Effect<{ readonly converged: number; readonly removed: number }>;
  /**
   * Why the backend is not ready, while the start-up reconciliation cannot reach it (its engine or
   * API down when berthd started: the reconciliation retries until it answers); undefined otherwise.
   */
  readonly backendProblem: () => string | undefined;
}

/** What the snapshot says a backend observation should change (or nothing). */
export const observationEvent = (snapshot: Snapshot, server: ObservedServer, at: number): EventOf<"ServerObserved"> | undefined => {
  const record = snapshot.servers[server.serverId];
  if (record === undefined) return undefined;
  const condition = serverCondition(server);
  if (condition.state === "Up" && (record.state !== "Ready" || record.readyReplicas !== condition.readyReplicas))
    return { _tag: "ServerObserved" as const, at, serverId: record.id, state: "Up" as const, readyReplicas: condition.readyReplicas };
  // A server still starting is not down; one that was serving and no longer is, is.
  if (condition.state === "Down" && record.state === "Ready") return { _tag: "ServerObserved" as const, at, serverId: record.id, state: "Down" as const, readyReplicas: 0 };
  if (condition.state === "Gone") {
    const failure = serverFailure(server);
    return { _tag: "ServerObserved" as const, at, serverId: record.id, state: "Gone" as const, readyReplicas: 0, ...(failure !== undefined ? { failure } : {}) };
  }
  return undefined;
};

const isManaged = (server: ObservedServer): boolean => server.labels["berth.dev/managed-by"] !== undefined || server.labels["berth.dev/server-id"] !== undefined;

export const makeExecutor = Effect.gen(function* () {
  const engine = yield* Engine;
  const backend = yield* Backend;
  const hub = yield* SidecarHub;
  const config = yield* BerthdConfig;
  const metrics = yield* Metrics;
  const api = yield* ApiAddress;
  const fibers = yield* FiberSet.make();
  const commits = yield* engine.subscribe;

  // One lane per server (lanes.ts): its intents in order, servers in parallel; a lane ends after its server's DeleteServer.
  const { enqueue } = makeLanes(fibers);

  const failed = (what: string, serverId: string) => (error: BackendError) =>
    Effect.gen(function* () {
      metrics.reconcileErrors.inc({ operation: what });
      yield* logError(`${what} failed`, { serverId, error: error.message });
    });

  // A failure retrying cannot help is reported at once (its leases fail with it); passing trouble
  // after a backoff (its leases are placed again).
  const reportGoneLater = (serverId: string, failure?: string) =>
    Effect.sleep(failure === undefined ? failedServerBackoff : Duration.zero).pipe(
      Effect.zipRight(Clock.currentTimeMillis),
      Effect.flatMap((at): Effect.Effect<void, StoreError> =>
        engine.snapshot().servers[serverId] === undefined
          ? Effect.void
          : Effect.asVoid(engine.submit({ _tag: "ServerObserved", at, serverId, state: "Gone", readyReplicas: 0, ...(failure !== undefined ? { failure } : {}) })),
      ),
      Effect.catchAll((error) => logWarn("could not report a failed server", { serverId, error: error.message })),
      Effect.asVoid,
    );

  // Specs are built when they are sent: sidecars need the API's bound address, known once it listens.
  type SpecFor = (berthd: string) => ServerSpec | undefined;
  const ensure = (serverId: string, specFor: SpecFor) =>
    Effect.gen(function* () {
      const spec = specFor(yield* api.get);
      if (spec === undefined) return;
      // Each passing failure is logged as it happens (an operator sees at once why nothing starts), then retried.
      const attempt = backend.ensureServer(spec).pipe(
        Effect.tapError((error) => (retryable(error) ? logWarn("ensureServer: backend unavailable; retrying", { serverId, error: error.message }) : Effect.void)),
      );
      yield* withRetry(attempt).pipe(
      Effect.tap(() => logDebug("server ensured", { serverId, replicas: spec.replicas, node: spec.node, image: spec.image })),
      Effect.asVoid,
        Effect.catchAll((error) =>
          failed("ensureServer", serverId)(error).pipe(Effect.zipRight(FiberSet.run(fibers, reportGoneLater(serverId, ensureFailure(serverId, error)))), Effect.asVoid),
        ),
      );
    });

  const execute = (intent: Intent): Effect.Effect<void> => {
    switch (intent._tag) {
      case "EnsureServer":
        metrics.coldStarts.inc({});
        return enqueue(intent.serverId, ensure(intent.serverId, (berthd) => specFromIntent(intent, config, berthd)));
      case "ScaleServer":
        return enqueue(
          intent.serverId,
          withRetry(backend.scale(intent.serverId, intent.replicas, intent.placements.map((p) => ({ node: p.node, gpus: p.gpus.map((g) => g.index) })))).pipe(
            Effect.asVoid,
            Effect.catchAll((error) => {
              const record = engine.snapshot().servers[intent.serverId];
              // The backend lost it: make it again at the new size.
              return error.reason._tag === "NotFound" && record !== undefined
                ? ensure(intent.serverId, (berthd) => specFromRecord(record, config, berthd))
                : failed("scale", intent.serverId)(error);
            }),
          ),
        );
      case "DeleteServer":
        return enqueue(
          intent.serverId,
          withRetry(backend.deleteServer(intent.serverId)).pipe(
            Effect.tap(() => logDebug("server deleted", { serverId: intent.serverId })),
            Effect.catchAll(failed("deleteServer", intent.serverId)),
          ),
        );
      case "MarkFailed":
        return logWarn("lease failed", { leaseId: intent.leaseId, code: intent.reason.code, reason: intent.reason.message });
      case "RecordDecision": {
        const d = intent.decision;
        if (d.kind === "Eviction" && d.outcome === "Evicted") metrics.evictions.inc({}, Math.max(1, d.victims?.length ?? 1));
        return logDebug("decision", { leaseId: d.leaseId, lease: d.leaseName, kind: d.kind, outcome: d.outcome, policy: d.policy, serverId: d.serverId, node: d.node });
      }
      case "AssignLease":
      case "UnassignLease":
        // The sidecar's desired state is read off the snapshot (hub.sync, after each commit).
        return Effect.void;
    }
  };

  const onCommit = (commit: Commit): Effect.Effect<void> =>
    Effect.gen(function* () {
      metrics.observeCommit(commit);
      for (const change of commit.result.changes) {
        const lease = commit.result.snapshot.leases[change.leaseId];
        yield* logInfo("lease phase", {
          leaseId: change.leaseId,
          lease: lease?.spec.name,
          from: change.from ?? "",
          to: change.to,
          serverId: lease?.placement?.serverId,
          ...(lease?.failure !== undefined ? { failure: lease.failure.code, reason: lease.failure.message } : {}),
        });
      }
      yield* hub.sync(commit.result.snapshot);
      for (const intent of commit.result.intents) yield* execute(intent);
    });

  yield* FiberSet.run(fibers, Queue.take(commits).pipe(Effect.flatMap(onCommit), Effect.forever));

  // Level-triggered start: converge the backend to the snapshot, clean up what it does not know.
  // In the background: the servers' sidecars need the API, which starts after the executor.
  const reconciled = yield* Deferred.make<{ readonly converged: number; readonly removed: number }>();
  let backendProblem: string | undefined;
  yield* FiberSet.run(
    fibers,
    reconcile(engine, backend, config, (id, specFor) => enqueue(id, ensure(id, specFor)), (problem) => (backendProblem = problem)).pipe(
      Effect.catchAll((error) => failed("reconcile", "*")(error).pipe(Effect.as({ converged: 0, removed: 0 }))),
      Effect.flatMap((result) => Deferred.succeed(reconciled, result)),
    ),
  );

  const onObservation = (observation: ServerObservation) =>
    Effect.gen(function* () {
      const at = yield* Clock.currentTimeMillis;
      const snapshot = engine.snapshot();
      hub.replicasObserved(
        observation._tag === "Gone" ? observation.serverId : observation.server.serverId,
        observation._tag === "Gone" ? [] : observation.server.replicas.map((r) => ({ replicaId: r.replicaId, grpc: r.endpoints?.grpc })),
      );
      if (observation._tag === "Gone") {
        if (snapshot.servers[observation.serverId] === undefined) return;
        yield* engine.submit({ _tag: "ServerObserved", at, serverId: observation.serverId, state: "Gone", readyReplicas: 0 });
        return;
      }
      const event = observationEvent(snapshot, observation.server, at);
      if (event !== undefined) {
        // A server changing state is rare and what operators look for first (unlike per-lease decisions): kept at info.
        yield* logInfo("server observed", { serverId: event.serverId, state: event.state, readyReplicas: event.readyReplicas, ...(event.failure !== undefined ? { failure: event.failure } : {}) });
        yield* engine.submit(event);
        // The backend gave up on it and the state has let it go: what is left of it (stopped
        // containers, whose logs are now in the leases' reason) goes too.
        if (event.state === "Gone") yield* enqueue(event.serverId, withRetry(backend.deleteServer(event.serverId)).pipe(Effect.catchAll(failed("deleteServer", event.serverId))));
      } else if (snapshot.servers[observation.server.serverId] === undefined && isManaged(observation.server)) {
        // A server of ours the state does not know (deleted while we were away, or left over): remove it.
        yield* enqueue(observation.server.serverId, withRetry(backend.deleteServer(observation.server.serverId)).pipe(Effect.catchAll(failed("deleteServer", observation.server.serverId))));
      }
    }).pipe(Effect.catchAll((error) => logWarn("observation not stored", { error: error.message })));

  yield* FiberSet.run(
    fibers,
    backend.watch().pipe(
      Stream.runForEach(onObservation),
      Effect.tapError((error) => logWarn("backend watch broke; restarting", { error: error.message })),
      Effect.retry(watchRestart),
      Effect.orDie,
    ),
  );

  const executor: ExecutorShape = { reconciled: Deferred.await(reconciled), backendProblem: () => backendProblem };
  return executor;
});

const reconcile = (
  engine: EngineShape,
  backend: BackendShape,
  config: BerthdConfigShape,
  ensure: (serverId: string, specFor: (berthd: string) => ServerSpec | undefined) => Effect.Effect<void>,
  problem: (message: string | undefined) => void,
) =>
  Effect.gen(function* () {
    // A backend away at start (its engine or API down) is waited for, however long: what the
    // snapshot holds is converged once it answers, and nothing is dropped meanwhile.
    const observed = yield* backend.list().pipe(
      Effect.tapError((error) =>
        Effect.zipRight(
          Effect.sync(() => problem(error.message)),
          retryable(error) ? logWarn("backend unavailable at start; reconciling once it answers", { backend: backend.name, error: error.message }) : Effect.void,
        ),
      ),
      Effect.retry({ schedule: watchRestart, while: retryable }),
    );
    problem(undefined);
    const snapshot = engine.snapshot();
    let converged = 0;
    let removed = 0;
    for (const server of Object.values(snapshot.servers)) {
      if (server.replicas.length === 0) continue;
      yield* ensure(server.id, (berthd) => specFromRecord(server, config, berthd));
      converged++;
    }
    for (const server of observed) {
      if (snapshot.servers[server.serverId] !== undefined || !isManaged(server)) continue;
      yield* withRetry(backend.deleteServer(server.serverId)).pipe(Effect.catchAll((error) => logWarn("could not remove an unknown server", { serverId: server.serverId, error: error.message })));
      removed++;
    }
    yield* logInfo("reconciled with the backend", { backend: backend.name, servers: Object.keys(snapshot.servers).length, observed: observed.length, converged, removed });
    return { converged, removed };
  });

export class Executor extends Context.Tag("@berth/control-plane/Executor")<Executor, ExecutorShape>() {
  static readonly layer: Layer.Layer<Executor, never, Engine | Backend | SidecarHub | BerthdConfig | Metrics | ApiAddress> = Layer.scoped(Executor, makeExecutor);
}
