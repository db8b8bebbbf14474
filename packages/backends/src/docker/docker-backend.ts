// The Docker backend: each replica is a server container and a sidecar container (host network,
// free ports chosen here, a shared model volume), created through the Engine API. The engine
// is the state: every container carries its server id, replica, ports and spec in labels, so a
// new instance adopts what runs and removes what no spec accounts for. Docker's on-failure
// restart policy keeps servers up while berthd is away; a reconciliation loop observes them
// (inspect + /v2/health/ready), restarts what Docker gave up on, and accounts crashes.
import { Clock, Effect, Either, Layer, Schedule, type Scope, SubscriptionRef } from "effect";
import { Backend, type BackendCapabilities, type BackendShape } from "../backend.js";
import { backendError, type BackendError, type BackendErrorReason } from "../errors.js";
import type { BackendPlugin } from "../registry.js";
import { retryingStart } from "../retrying-start.js";
import { type ObservedServer, type ReplicaFailure, type ReplicaState, watchFromStates } from "../observation.js";
import { freePorts } from "../process/ports.js";
import { probeReady } from "../process/probe.js";
import { LABEL_REPLICA, LABEL_SERVER_ID, placementOf, type ReplicaPlacement, replicaId, type ServerSpec, validateServerSpec } from "../spec.js";
import { decodeDockerBackendConfig, type DockerBackendConfig, type DockerBackendOptions } from "./config.js";
import {
  imageOf,
  instanceLabels,
  LABEL_GENERATION,
  LABEL_ROLE,
  LABEL_SPEC,
  type Ports,
  portsOf,
  replicaContainers,
  type Role,
  serverLabels,
  volumeName,
} from "./containers.js";
import { type ContainerInfo, type Engine, type EngineError, engineRetrySchedule, makeEngine, unreachable } from "./engine.js";
import { gpuNode, type GpuNode, gpuProblems } from "./gpus.js";
import { layerFromConfig } from "../plugin-config.js";

export const DOCKER_BACKEND_NAME = "docker";

interface ReplicaRecord {
  readonly index: number;
  readonly replicaId: string;
  readonly placement: ReplicaPlacement;
  readonly ports: Ports;
  containers: Partial<Record<Role, string>>;
  state: ReplicaState;
  restarts: number;
  lastError?: ReplicaFailure;
  /** The StartedAt of the containers' current run, as last seen; undefined while none is counted. */
  runKey?: string;
  runStartedMs: number;
  readyThisRun: boolean;
  fastCrashes: number;
  /** After a crash: not restarted by us before this time (backoff). */
  restartAtMs: number;
}

interface ServerEntry {
  spec: ServerSpec;
  generation: number;
  readonly replicas: Map<number, ReplicaRecord>;
}

// A function, not `rec.state === "Failed"`: the state changes in calls TypeScript does not follow.
const isFailed = (rec: ReplicaRecord): boolean => rec.state === "Failed";

/** Restart backoff after `fastCrashes` fast crashes in a row: 200 ms doubling, at most 10 s. */
const restartDelayMs = (fastCrashes: number): number => Math.min(10_000, 200 * 2 ** Math.max(0, fastCrashes - 1));

function observe(entry: ServerEntry, config: DockerBackendConfig): ObservedServer {
  const spec = entry.spec;
  return {
    serverId: spec.serverId,
    image: spec.image,
    labels: serverLabels(config, spec),
    desiredReplicas: spec.replicas,
    replicas: [...entry.replicas.values()]
      .sort((a, b) => a.index - b.index)
      .map((r) => ({
        replicaId: r.replicaId,
        index: r.index,
        state: r.state,
        placement: r.placement,
        endpoints: { http: `${config.host}:${r.ports.http}`, grpc: `${config.host}:${r.ports.grpc}`, metrics: `${config.host}:${r.ports.metrics}` },
        restarts: r.restarts,
        ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
      })),
  };
}

/** What a Docker backend on this node can do (its GPUs are known before the engine is reached). */
const dockerCapabilities = (node: GpuNode): BackendCapabilities => ({ gpus: node.inventory.length > 0, images: "oci", adoption: true, nodes: "one" });

/**
 * The backend once its engine answers: it must, to adopt what runs (Unavailable naming the engine
 * when it does not; `layerDocker` retries that in the background).
 */
export const makeDockerBackend = (
  config: DockerBackendConfig,
  engine: Engine = makeEngine(config),
  node: GpuNode = gpuNode(config.gpus),
): Effect.Effect<BackendShape, BackendError, Scope.Scope> =>
  Effect.gen(function* () {
    const fail = (reason: BackendErrorReason) => Effect.fail(backendError(DOCKER_BACKEND_NAME, reason));
    const where = config.tcp !== undefined ? `tcp://${config.tcp}` : config.socketPath;
    /** An engine call as the backend's error: retried while the engine is unreachable, then Unavailable. */
    const engineCall = <A>(what: string, effect: Effect.Effect<A, EngineError>): Effect.Effect<A, BackendError> =>
      effect.pipe(
        Effect.retry({ schedule: engineRetrySchedule, while: unreachable }),
        Effect.mapError((e) =>
          backendError(DOCKER_BACKEND_NAME, {
            _tag: "Unavailable",
            message: unreachable(e) ? `Docker engine at ${where} unreachable (${what}): ${e.message}` : `${what}: ${e.message}`,
          }),
        ),
      );

    yield* engineCall("ping", engine.ping);
    const hostCpus = yield* engineCall("info", engine.cpus);
    const { inventory, cpuOnly } = node;
    if (cpuOnly) yield* Effect.logInfo("docker backend: no GPUs configured and nvidia-smi found none; containers run without GPU devices");
    /** Placements naming GPUs this node does not have (none on a CPU-only node, whose GPUs are pretend). */
    const gpuPlacementProblems = (placements: readonly { readonly index: number; readonly gpus: readonly number[] }[]): string[] =>
      cpuOnly ? [] : gpuProblems(inventory, placements);
    const servers = new Map<string, ServerEntry>();
    const observed = yield* SubscriptionRef.make<ReadonlyMap<string, ObservedServer>>(new Map());
    const lock = yield* Effect.makeSemaphore(1);
    const publish = Effect.suspend(() => SubscriptionRef.set(observed, new Map([...servers].map(([id, entry]) => [id, observe(entry, config)]))));

    const logTail = (rec: ReplicaRecord) =>
      Effect.gen(function* () {
        const server = rec.containers.server === undefined ? "" : yield* engine.logs(rec.containers.server, config.logTailLines).pipe(Effect.orElseSucceed(() => ""));
        const sidecar = rec.containers.sidecar === undefined ? "" : yield* engine.logs(rec.containers.sidecar, config.logTailLines).pipe(Effect.orElseSucceed(() => ""));
        return sidecar === "" ? server : `${server}\n--- sidecar ---\n${sidecar}`;
      });

    /** Creates (when missing) and starts the replica's volume and containers. */
    const startReplica = (entry: ServerEntry, rec: ReplicaRecord) =>
      Effect.gen(function* () {
        const devices = cpuOnly ? { ...rec.placement, gpus: [] } : rec.placement;
        const made = replicaContainers(config, entry.spec, rec.index, devices, rec.ports, entry.generation, hostCpus);
        if (rec.containers.server === undefined) {
          yield* engineCall("create volume", engine.createVolume(made.volume.name, made.volume.labels));
          rec.containers.server = yield* engineCall(`create ${made.server.name}`, engine.create(made.server));
        }
        if (made.sidecar !== undefined && rec.containers.sidecar === undefined) {
          rec.containers.sidecar = yield* engineCall(`create ${made.sidecar.name}`, engine.create(made.sidecar));
        }
        for (const id of [rec.containers.server, rec.containers.sidecar]) if (id !== undefined) yield* engineCall("start", engine.start(id));
        // This run is the one the next passes watch: a later StartedAt means Docker restarted it.
        const runs = yield* Effect.forEach([rec.containers.server, rec.containers.sidecar], (id) => (id === undefined ? Effect.succeed(undefined) : engineCall("inspect", engine.inspect(id))));
        rec.runKey = runs.filter((c) => c !== undefined).map((c) => c.State.StartedAt).join("|");
        rec.runStartedMs = yield* Clock.currentTimeMillis;
        rec.readyThisRun = false;
      });

    const removeReplica = (rec: ReplicaRecord) =>
      Effect.gen(function* () {
        for (const id of [rec.containers.sidecar, rec.containers.server]) if (id !== undefined) yield* engineCall("remove", engine.remove(id, config.stopGraceSeconds));
        rec.containers = {};
      });

    const newReplica = (entry: ServerEntry, index: number, ports: Ports, now: number): ReplicaRecord => ({
      index,
      replicaId: replicaId(entry.spec.serverId, index),
      placement: placementOf(entry.spec, index),
      ports,
      containers: {},
      state: "Starting",
      restarts: 0,
      runStartedMs: now,
      readyThisRun: false,
      fastCrashes: 0,
      restartAtMs: 0,
    });

    const converge = (entry: ServerEntry) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        for (let index = 0; index < entry.spec.replicas; index++) {
          if (entry.replicas.has(index)) continue;
          const [http, grpc, metrics] = yield* freePorts(config.host, 3).pipe(
            Effect.mapError((e) => backendError(DOCKER_BACKEND_NAME, { _tag: "Unavailable", message: `no free ports: ${e.message}` })),
          );
          const rec = newReplica(entry, index, { http, grpc, metrics }, now);
          entry.replicas.set(index, rec);
          yield* startReplica(entry, rec);
        }
        const surplus = [...entry.replicas.values()].filter((r) => r.index >= entry.spec.replicas);
        for (const rec of surplus) {
          yield* removeReplica(rec);
          yield* engineCall("remove volume", engine.removeVolume(replicaContainers(config, entry.spec, rec.index, rec.placement, rec.ports, 0).volume.name));
          entry.replicas.delete(rec.index);
        }
        return observe(entry, config);
      }).pipe(
        // Published even when the engine failed midway: what is wanted is kept and shown, and
        // the reconciliation passes finish it once the engine answers again.
        Effect.ensuring(publish),
      );

    // ---- reconciliation: one pass over every replica ---------------------------------------------
    const recordFailure = (rec: ReplicaRecord, reason: ReplicaFailure["reason"], message: string, now: number, exitCode?: number) =>
      Effect.gen(function* () {
        rec.lastError = { reason, message, logTail: yield* logTail(rec), ...(exitCode !== undefined ? { exitCode } : {}) };
        const fast = !rec.readyThisRun || now - rec.runStartedMs < config.fastCrashWindowMs;
        rec.fastCrashes = fast ? rec.fastCrashes + 1 : 0;
        rec.runKey = undefined;
        rec.readyThisRun = false;
        if (rec.fastCrashes >= config.maxFastCrashes) {
          rec.state = "Failed";
          // Stopped by hand, Docker's restart policy leaves them alone; the logs stay for describe.
          for (const id of [rec.containers.server, rec.containers.sidecar]) if (id !== undefined) yield* engine.stop(id, config.stopGraceSeconds).pipe(Effect.ignore);
          return;
        }
        rec.state = "Down";
        rec.restartAtMs = now + restartDelayMs(rec.fastCrashes);
      });

    const reconcileReplica = (entry: ServerEntry, rec: ReplicaRecord) =>
      Effect.gen(function* () {
        if (rec.state === "Failed") return;
        const now = yield* Clock.currentTimeMillis;
        const inspect = (id: string | undefined) => (id === undefined ? Effect.succeed(undefined) : engine.inspect(id));
        const server = yield* inspect(rec.containers.server);
        const sidecar = entry.spec.sidecar === undefined ? undefined : yield* inspect(rec.containers.sidecar);
        // Removed from outside: forget it, and make it again below.
        if (server === undefined) rec.containers.server = undefined;
        if (entry.spec.sidecar !== undefined && sidecar === undefined) rec.containers.sidecar = undefined;
        const parts: ContainerInfo[] = [server, sidecar].filter((c): c is ContainerInfo => c !== undefined);
        const complete = server !== undefined && (entry.spec.sidecar === undefined || sidecar !== undefined);
        const running = complete && parts.every((c) => c.State.Running);
        const key = parts.map((c) => c.State.StartedAt).join("|");

        if (running) {
          if (rec.runKey !== undefined && rec.runKey !== key) {
            // Docker restarted a container between two passes: a crash we did not see end.
            const before = rec.runKey.split("|");
            const restarted = parts.filter((c, i) => c.State.StartedAt !== before[i]).map((c) => c.Config.Labels?.[LABEL_ROLE] ?? "server");
            yield* recordFailure(rec, rec.readyThisRun ? "Crashed" : "StartFailed", `${restarted.join(" and ") || "server"} exited and was restarted by the engine`, now);
            if (isFailed(rec)) return;
            rec.restarts++;
            // Down for this pass even when the new run is ready already: watchers must see it
            // go down (a restarted server has lost its loaded models), and the next pass probes it.
            rec.runKey = key;
            rec.runStartedMs = now;
            return;
          }
          if (rec.runKey === undefined) {
            rec.runKey = key;
            rec.runStartedMs = now;
            rec.readyThisRun = false;
          }
          const ready = yield* probeReady(config.host, rec.ports.http, 1000);
          if (ready) {
            rec.readyThisRun = true;
            rec.state = "Ready";
          } else if (rec.state === "Ready") {
            rec.state = "Down";
          } else if (!rec.readyThisRun && now - rec.runStartedMs > config.readyTimeoutMs) {
            yield* recordFailure(rec, "NotReady", `not ready after ${config.readyTimeoutMs} ms`, now);
            for (const id of [rec.containers.server, rec.containers.sidecar]) if (id !== undefined) yield* engine.stop(id, config.stopGraceSeconds).pipe(Effect.ignore);
          }
          return;
        }

        if (rec.runKey !== undefined) {
          const exited = parts.find((c) => !c.State.Running);
          const role = exited === undefined ? "server" : exited.Config.Labels?.[LABEL_ROLE] ?? "server";
          const message =
            exited === undefined
              ? "a container is missing"
              : exited.State.OOMKilled
                ? `${role} was killed for exceeding its memory limit`
                : `${role} exited with code ${exited.State.ExitCode}${exited.State.Error !== "" ? ` (${exited.State.Error})` : ""}`;
          yield* recordFailure(rec, rec.readyThisRun ? "Crashed" : "StartFailed", rec.readyThisRun ? message : `${message} before it was ready`, now, exited?.State.ExitCode);
          if (isFailed(rec)) return;
        }
        if (now < rec.restartAtMs) return;
        if (rec.state === "Down") rec.restarts++;
        yield* startReplica(entry, rec);
      });

    /** One pass; engine errors end it early and the next pass tries again (nothing is forgotten). */
    const reconcile = lock.withPermits(1)(
      Effect.gen(function* () {
        const records = [...servers.values()].flatMap((entry) => [...entry.replicas.values()].map((rec) => [entry, rec] as const));
        yield* Effect.forEach(records, ([entry, rec]) => reconcileReplica(entry, rec).pipe(Effect.ignore), { concurrency: 8, discard: true });
        yield* publish;
      }),
    );

    // ---- adoption: what runs with this instance's labels ---------------------------------------
    const found = yield* engineCall("list containers", engine.list(instanceLabels(config)));
    const byServer = new Map<string, (typeof found)[number][]>();
    for (const c of found) {
      const id = c.Labels?.[LABEL_SERVER_ID];
      if (id !== undefined) byServer.set(id, [...(byServer.get(id) ?? []), c]);
    }
    const orphans: string[] = found.filter((c) => c.Labels?.[LABEL_SERVER_ID] === undefined).map((c) => c.Id);
    const now = yield* Clock.currentTimeMillis;
    for (const [serverId, containers] of byServer) {
      const newest = [...containers].sort((a, b) => Number(b.Labels?.[LABEL_GENERATION] ?? 0) - Number(a.Labels?.[LABEL_GENERATION] ?? 0))[0];
      const spec = (() => {
        try {
          return validateServerSpec(JSON.parse(newest.Labels?.[LABEL_SPEC] ?? "null"));
        } catch {
          return Either.left(["spec label is not JSON"]);
        }
      })();
      if (Either.isLeft(spec) || spec.right.serverId !== serverId) {
        orphans.push(...containers.map((c) => c.Id));
        continue;
      }
      const entry: ServerEntry = { spec: spec.right, generation: Number(newest.Labels?.[LABEL_GENERATION] ?? 0), replicas: new Map() };
      servers.set(serverId, entry);
      for (const c of containers) {
        const labels = c.Labels ?? {};
        const index = Number(labels[LABEL_REPLICA]);
        const role = labels[LABEL_ROLE] as Role | undefined;
        const ports = portsOf(labels);
        if (!Number.isInteger(index) || index < 0 || index >= entry.spec.replicas || ports === undefined || (role !== "server" && role !== "sidecar")) {
          orphans.push(c.Id);
          continue;
        }
        const rec = entry.replicas.get(index) ?? newReplica(entry, index, ports, now);
        if (rec.containers[role] !== undefined || rec.ports.http !== ports.http) {
          orphans.push(c.Id);
          continue;
        }
        rec.containers[role] = c.Id;
        entry.replicas.set(index, rec);
      }
    }
    yield* Effect.forEach(orphans, (id) => engineCall("remove orphan", engine.remove(id, config.stopGraceSeconds)), { discard: true });
    // Their volumes too, by name: a volume made implicitly by a create carries no labels.
    const orphanVolumes = found
      .filter((c) => orphans.includes(c.Id))
      .flatMap((c) => {
        const serverId = c.Labels?.[LABEL_SERVER_ID];
        const index = Number(c.Labels?.[LABEL_REPLICA]);
        if (serverId === undefined || !Number.isInteger(index)) return [];
        const owner = servers.get(serverId);
        return owner !== undefined && owner.replicas.has(index) ? [] : [volumeName(serverId, index)];
      });
    const volumes = yield* engineCall("list volumes", engine.volumes(instanceLabels(config)));
    const kept = new Set([...servers.values()].flatMap((e) => [...e.replicas.values()].map((r) => replicaContainers(config, e.spec, r.index, r.placement, r.ports, 0).volume.name)));
    yield* Effect.forEach(
      [...new Set([...volumes, ...orphanVolumes])].filter((v) => !kept.has(v)),
      (v) => engine.removeVolume(v).pipe(Effect.ignore),
      { discard: true },
    );
    // Replicas the spec wants that have no container at all are created by converge.
    for (const entry of servers.values()) yield* converge(entry);
    yield* reconcile;
    yield* Effect.forkScoped(reconcile.pipe(Effect.repeat(Schedule.spaced(`${config.pollIntervalMs} millis`))));

    // ---- shutdown -------------------------------------------------------------------------------
    if (config.onClose === "stop") {
      yield* Effect.addFinalizer(() =>
        lock.withPermits(1)(
          Effect.forEach(
            [...servers.values()].flatMap((e) => [...e.replicas.values()].map((r) => [e, r] as const)),
            ([e, r]) =>
              removeReplica(r).pipe(
                Effect.zipRight(engine.removeVolume(replicaContainers(config, e.spec, r.index, r.placement, r.ports, 0).volume.name)),
                Effect.ignore,
              ),
            { concurrency: 8, discard: true },
          ),
        ),
      );
    }

    const checkSpec = (spec: ServerSpec) =>
      Effect.gen(function* () {
        const placements = Array.from({ length: spec.replicas }, (_, index) => ({ index, gpus: placementOf(spec, index).gpus }));
        const problems = gpuPlacementProblems(placements);
        if (problems.length > 0) return yield* fail({ _tag: "InvalidSpec", problems });
        const image = imageOf(config, spec);
        if (yield* engineCall("inspect image", engine.imageExists(image))) return;
        // Images are not pulled when present; a missing one is pulled once, with a time limit.
        const pulled = yield* Effect.either(engine.pull(image, config.pullTimeoutMs));
        if (Either.isLeft(pulled)) {
          if (unreachable(pulled.left) && !(yield* Effect.either(engine.ping)).pipe(Either.isRight))
            return yield* fail({ _tag: "Unavailable", message: `Docker engine at ${where} unreachable: ${pulled.left.message}` });
          return yield* fail({ _tag: "ImageNotFound", image, message: `not present locally and the pull failed: ${pulled.left.message}` });
        }
      });

    const capabilities = dockerCapabilities(node);

    const shape: BackendShape = {
      name: DOCKER_BACKEND_NAME,
      capabilities,
      ensureServer: (input) =>
        Effect.gen(function* () {
          const decoded = validateServerSpec(input);
          if (Either.isLeft(decoded)) return yield* fail({ _tag: "InvalidSpec", problems: decoded.left });
          const spec = decoded.right;
          yield* checkSpec(spec);
          return yield* lock.withPermits(1)(
            Effect.suspend(() => {
              const existing = servers.get(spec.serverId);
              const entry: ServerEntry = existing ?? { spec, generation: 0, replicas: new Map() };
              if (existing === undefined || JSON.stringify(existing.spec) !== JSON.stringify(spec)) entry.generation++;
              entry.spec = spec;
              servers.set(spec.serverId, entry);
              return converge(entry);
            }),
          );
        }),
      scale: (serverId, replicas, placements) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            const entry = servers.get(serverId);
            if (entry === undefined) return yield* fail({ _tag: "NotFound", serverId });
            const decoded = validateServerSpec({ ...entry.spec, replicas, ...(placements !== undefined ? { placements } : {}) });
            if (Either.isLeft(decoded)) return yield* fail({ _tag: "InvalidSpec", problems: decoded.left });
            const problems = gpuPlacementProblems(
              Array.from({ length: replicas }, (_, index) => ({ index, gpus: placementOf(decoded.right, index).gpus })),
            );
            if (problems.length > 0) return yield* fail({ _tag: "InvalidSpec", problems });
            entry.spec = decoded.right;
            entry.generation++;
            return yield* converge(entry);
          }),
        ),
      deleteServer: (serverId) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            // Unknown here may still have containers (made by an instance whose spec label did not
            // decode): remove whatever carries the id and this instance's labels.
            const entry = servers.get(serverId);
            const leftovers = yield* engineCall("list containers", engine.list({ ...instanceLabels(config), [LABEL_SERVER_ID]: serverId }));
            yield* Effect.forEach(leftovers, (c) => engineCall("remove", engine.remove(c.Id, config.stopGraceSeconds)), { concurrency: 8, discard: true });
            const volumes = yield* engineCall("list volumes", engine.volumes({ ...instanceLabels(config), [LABEL_SERVER_ID]: serverId }));
            yield* Effect.forEach(volumes, (v) => engineCall("remove volume", engine.removeVolume(v)), { discard: true });
            if (entry !== undefined) servers.delete(serverId);
            yield* publish;
          }),
        ),
      list: () => SubscriptionRef.get(observed).pipe(Effect.map((m) => [...m.values()].sort((a, b) => a.serverId.localeCompare(b.serverId)))),
      watch: () => watchFromStates(observed.changes),
    };
    return shape;
  });

/**
 * The Docker backend as a layer; closing it leaves (default) or removes its containers. An engine
 * that does not answer at start is logged, naming it, and waited for in the background: calls are
 * Unavailable until it answers, then the backend adopts what runs and carries on (retrying-start.ts).
 */
export const layerDocker = (config: DockerBackendConfig): Layer.Layer<Backend, BackendError> =>
  Layer.scoped(
    Backend,
    Effect.suspend(() => {
      const node = gpuNode(config.gpus);
      return retryingStart(makeDockerBackend(config, makeEngine(config), node), { name: DOCKER_BACKEND_NAME, capabilities: dockerCapabilities(node), leaseRouting: false });
    }),
  );

/** Plugin entry: decodes the configuration (InvalidConfig lists every problem). */
export const dockerBackendLayerFromConfig: (input: unknown) => Layer.Layer<Backend, BackendError> = layerFromConfig(DOCKER_BACKEND_NAME, decodeDockerBackendConfig, layerDocker);

/** With options as callers write them (defaults filled in). */
export const layerDockerWith = (options: DockerBackendOptions): Layer.Layer<Backend, BackendError> => dockerBackendLayerFromConfig(options);

/** Registry entry: `withPlugins(builtinBackends, dockerBackendPlugin)`, or listed in builtinBackends. */
export const dockerBackendPlugin: BackendPlugin = { name: DOCKER_BACKEND_NAME, layer: dockerBackendLayerFromConfig };
