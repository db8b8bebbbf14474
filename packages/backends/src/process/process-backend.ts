// The local-process backend: each replica is a model server (or tritonserver, or a configured
// command) plus a sidecar, as child processes of berthd on free ports. State lives in memory
// and in a state file, so a restarted berthd adopts the replicas that still run.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Effect, Either, Fiber, Layer, type Scope, SubscriptionRef } from "effect";
import { Backend, type BackendCapabilities, type BackendShape } from "../backend.js";
import { backendError, type BackendError } from "../errors.js";
import { type ObservedServer, watchFromStates } from "../observation.js";
import { LABEL_GROUP, LABEL_MANAGED_BY, LABEL_SERVER_ID, LABEL_VALUE_PATTERN, placementOf, replicaId, type ServerSpec, validateServerSpec } from "../spec.js";
import { adoptedChild, isOurProcess, markedProcesses, stopPid } from "./child.js";
import { decodeProcessBackendConfig, type ProcessBackendConfig, type ProcessBackendOptions } from "./config.js";
import { probeReady } from "./probe.js";
import { type ReplicaEnvironment, type ReplicaRecord, type Run, serverLogPath, sidecarLogPath, stopRun, superviseReplica } from "./replica.js";
import { defaultRuntime, missingExecutable, runtimeFor } from "./runtime.js";
import { readStateFile, type StateFile, writeStateFile } from "./state-file.js";
import { layerFromConfig } from "../plugin-config.js";

export const PROCESS_BACKEND_NAME = "process";
export const MANAGED_BY = "berth-process-backend";

interface ServerEntry {
  spec: ServerSpec;
  readonly replicas: Map<number, ReplicaRecord>;
}

const serverDir = (config: ProcessBackendConfig, serverId: string): string => join(config.stateDir, "servers", serverId);

function observe(entry: ServerEntry, config: ProcessBackendConfig): ObservedServer {
  const spec = entry.spec;
  return {
    serverId: spec.serverId,
    image: spec.image,
    labels: {
      ...spec.labels,
      [LABEL_MANAGED_BY]: MANAGED_BY,
      [LABEL_SERVER_ID]: spec.serverId,
      ...(LABEL_VALUE_PATTERN.test(spec.group) ? { [LABEL_GROUP]: spec.group } : {}),
    },
    desiredReplicas: spec.replicas,
    replicas: [...entry.replicas.values()]
      .sort((a, b) => a.index - b.index)
      .map((r) => ({
        replicaId: r.replicaId,
        index: r.index,
        state: r.state,
        placement: r.placement,
        ...(r.ports !== undefined
          ? { endpoints: { http: `${config.host}:${r.ports.http}`, grpc: `${config.host}:${r.ports.grpc}`, metrics: `${config.host}:${r.ports.metrics}` } }
          : {}),
        restarts: r.restarts,
        ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
      })),
  };
}

function stateOf(servers: ReadonlyMap<string, ServerEntry>): StateFile {
  return {
    version: 1,
    servers: [...servers.values()].map((entry) => ({
      spec: entry.spec,
      replicas: [...entry.replicas.values()].flatMap((r) =>
        r.run === undefined ? [] : [{ index: r.index, ports: r.run.ports, server: r.run.server.pid, ...(r.run.sidecar !== undefined ? { sidecar: r.run.sidecar.pid } : {}) }],
      ),
    })),
  };
}

export const makeProcessBackend = (config: ProcessBackendConfig): Effect.Effect<BackendShape, BackendError, Scope.Scope> =>
  Effect.gen(function* () {
    const fail = (reason: Parameters<typeof backendError>[1]) => Effect.fail(backendError(PROCESS_BACKEND_NAME, reason));
    const scope = yield* Effect.scope;
    const fallback = defaultRuntime(config);
    const servers = new Map<string, ServerEntry>();
    const observed = yield* SubscriptionRef.make<ReadonlyMap<string, ObservedServer>>(new Map());
    const lock = yield* Effect.makeSemaphore(1);

    const changed = Effect.suspend(() => {
      writeStateFile(config.stateDir, stateOf(servers));
      return SubscriptionRef.set(observed, new Map([...servers].map(([id, entry]) => [id, observe(entry, config)])));
    });

    const environment = (entry: ServerEntry): ReplicaEnvironment => ({
      config,
      runtime: (image) => runtimeFor(config, fallback, image),
      spec: () => entry.spec,
      changed,
    });

    const newReplica = (entry: ServerEntry, index: number): ReplicaRecord => ({
      index,
      replicaId: replicaId(entry.spec.serverId, index),
      placement: placementOf(entry.spec, index),
      dir: join(serverDir(config, entry.spec.serverId), String(index)),
      state: "Starting",
      restarts: 0,
    });

    const supervise = (entry: ServerEntry, rec: ReplicaRecord, adopted?: Run) =>
      Effect.gen(function* () {
        entry.replicas.set(rec.index, rec);
        if (adopted !== undefined) {
          rec.ports = adopted.ports;
          rec.run = adopted;
        }
        rec.fiber = yield* Effect.forkIn(superviseReplica(rec, environment(entry), adopted), scope);
      });

    /** Interrupts the supervisor, then stops whatever it left running. */
    const stopReplica = (rec: ReplicaRecord) =>
      Effect.gen(function* () {
        if (rec.fiber !== undefined) yield* Fiber.interrupt(rec.fiber);
        if (rec.run !== undefined) yield* stopRun(rec.run, config.stopGraceMs);
        rec.run = undefined;
      });

    const converge = (entry: ServerEntry) =>
      Effect.gen(function* () {
        for (let index = 0; index < entry.spec.replicas; index++) {
          if (!entry.replicas.has(index)) yield* supervise(entry, newReplica(entry, index));
        }
        const surplus = [...entry.replicas.values()].filter((r) => r.index >= entry.spec.replicas);
        yield* Effect.forEach(surplus, stopReplica, { concurrency: "unbounded", discard: true });
        for (const rec of surplus) {
          entry.replicas.delete(rec.index);
          rmSync(rec.dir, { recursive: true, force: true });
        }
        yield* changed;
        return observe(entry, config);
      });

    const checkImage = (spec: ServerSpec) => {
      const missing = missingExecutable(runtimeFor(config, fallback, spec.image));
      return missing === undefined ? Effect.void : fail({ _tag: "ImageNotFound", image: spec.image, message: `executable '${missing}' not found` });
    };

    // ---- adoption: what the previous instance left running ------------------------------------
    const recorded = readStateFile(config.stateDir);
    if (Either.isLeft(recorded)) return yield* fail({ _tag: "Unavailable", message: recorded.left });
    const adoptions: { entry: ServerEntry; rec: ReplicaRecord; run?: Run }[] = [];
    const kept = new Set<number>();
    for (const server of recorded.right.servers) {
      const entry: ServerEntry = { spec: server.spec, replicas: new Map() };
      servers.set(server.spec.serverId, entry);
      for (let index = 0; index < server.spec.replicas; index++) {
        const rec = newReplica(entry, index);
        const found = server.replicas.find((r) => r.index === index);
        const alive =
          found !== undefined &&
          isOurProcess(found.server, config.stateDir, rec.replicaId, "server") &&
          (found.sidecar === undefined || isOurProcess(found.sidecar, config.stateDir, rec.replicaId, "sidecar")) &&
          (yield* probeReady(config.host, found.ports.http, 2000));
        if (alive) {
          kept.add(found.server);
          if (found.sidecar !== undefined) kept.add(found.sidecar);
          const run: Run = {
            ports: found.ports,
            server: adoptedChild(found.server, "server", serverLogPath(rec), config.probeIntervalMs),
            ...(found.sidecar !== undefined ? { sidecar: adoptedChild(found.sidecar, "sidecar", sidecarLogPath(rec), config.probeIntervalMs) } : {}),
          };
          adoptions.push({ entry, rec, run });
        } else adoptions.push({ entry, rec });
      }
    }
    // Orphans: processes of this state dir not adopted (a replica not ready, scaled away, or
    // started just before the previous instance died), found by their marks or recorded pids.
    const recordedPids = recorded.right.servers.flatMap((s) =>
      s.replicas.flatMap((r) => {
        const id = replicaId(s.spec.serverId, r.index);
        return [
          ...(isOurProcess(r.server, config.stateDir, id, "server") ? [r.server] : []),
          ...(r.sidecar !== undefined && isOurProcess(r.sidecar, config.stateDir, id, "sidecar") ? [r.sidecar] : []),
        ];
      }),
    );
    const orphans = [...new Set([...markedProcesses(config.stateDir), ...recordedPids])].filter((pid) => !kept.has(pid));
    yield* Effect.forEach(orphans, (pid) => stopPid(pid, config.stopGraceMs, config.probeIntervalMs), { concurrency: "unbounded", discard: true });
    for (const { entry, rec, run } of adoptions) yield* supervise(entry, rec, run);
    yield* changed;

    // ---- shutdown -----------------------------------------------------------------------------
    yield* Effect.addFinalizer(() =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const records = [...servers.values()].flatMap((e) => [...e.replicas.values()]);
          yield* Effect.forEach(records, (r) => (r.fiber !== undefined ? Fiber.interrupt(r.fiber) : Effect.void), { discard: true });
          if (config.onClose === "leave") {
            writeStateFile(config.stateDir, stateOf(servers));
            return;
          }
          yield* Effect.forEach(records, stopReplica, { concurrency: "unbounded", discard: true });
          servers.clear();
          writeStateFile(config.stateDir, stateOf(servers));
        }),
      ),
    );

    const capabilities: BackendCapabilities = { gpus: fallback.kind === "tritonserver", images: "process", adoption: true, nodes: "one" };

    const shape: BackendShape = {
      name: PROCESS_BACKEND_NAME,
      capabilities,
      ensureServer: (input) =>
        Effect.gen(function* () {
          const decoded = validateServerSpec(input);
          if (Either.isLeft(decoded)) return yield* fail({ _tag: "InvalidSpec", problems: decoded.left });
          const spec = decoded.right;
          yield* checkImage(spec);
          return yield* lock.withPermits(1)(
            Effect.suspend(() => {
              const existing = servers.get(spec.serverId);
              const entry: ServerEntry = existing ?? { spec, replicas: new Map() };
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
            entry.spec = decoded.right;
            return yield* converge(entry);
          }),
        ),
      deleteServer: (serverId) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            const entry = servers.get(serverId);
            if (entry === undefined) return;
            yield* Effect.forEach([...entry.replicas.values()], stopReplica, { concurrency: "unbounded", discard: true });
            servers.delete(serverId);
            rmSync(serverDir(config, serverId), { recursive: true, force: true });
            yield* changed;
          }),
        ),
      list: () => SubscriptionRef.get(observed).pipe(Effect.map((m) => [...m.values()].sort((a, b) => a.serverId.localeCompare(b.serverId)))),
      watch: () => watchFromStates(observed.changes),
    };
    return shape;
  });

/** The process backend as a layer; closing it stops (or, with onClose "leave", leaves) its servers. */
export const layerProcess = (config: ProcessBackendConfig): Layer.Layer<Backend, BackendError> => Layer.scoped(Backend, makeProcessBackend(config));

/** Plugin entry: decodes the configuration (InvalidConfig lists every problem). */
export const processBackendLayerFromConfig: (input: unknown) => Layer.Layer<Backend, BackendError> = layerFromConfig(PROCESS_BACKEND_NAME, decodeProcessBackendConfig, layerProcess);

/** With options as callers write them (defaults filled in). */
export const layerProcessWith = (options: ProcessBackendOptions): Layer.Layer<Backend, BackendError> => processBackendLayerFromConfig(options);
