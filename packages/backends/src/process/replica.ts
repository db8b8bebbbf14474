// One replica of a process-backend server: its server process (and sidecar), started on free
// ports, watched, and restarted with a capped backoff when it exits. A replica that keeps
// dying young is marked Failed with the end of its logs, and left alone.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Clock, Duration, Effect, type Fiber, Schedule } from "effect";
import type { ReplicaFailure, ReplicaState } from "../observation.js";
import { type ReplicaPlacement, type ServerSpec, sidecarEnvironment } from "../spec.js";
import { type ChildHandle, type ChildRole, ENV_REPLICA_ID, ENV_ROLE, ENV_STATE_DIR, type ExitInfo, logTail, spawnChild, stopChild } from "./child.js";
import type { ProcessBackendConfig } from "./config.js";
import { freePorts } from "./ports.js";
import { probeReady, readinessSchedule } from "./probe.js";
import { REPO_ROOT, type ServerRuntime, serverCommand, sidecarCommand } from "./runtime.js";

export interface Ports {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

/** The processes of one start of a replica. */
export interface Run {
  readonly ports: Ports;
  readonly server: ChildHandle;
  readonly sidecar?: ChildHandle;
}

/** Mutable on purpose: the supervisor fiber owns it; the backend reads it to publish observations. */
export interface ReplicaRecord {
  readonly index: number;
  readonly replicaId: string;
  readonly placement: ReplicaPlacement;
  readonly dir: string;
  state: ReplicaState;
  restarts: number;
  ports?: Ports;
  run?: Run;
  lastError?: ReplicaFailure;
  fiber?: Fiber.RuntimeFiber<void>;
}

export interface ReplicaEnvironment {
  readonly config: ProcessBackendConfig;
  readonly runtime: (image: string) => ServerRuntime;
  /** The server's current spec (image and sidecar settings of the next start). */
  readonly spec: () => ServerSpec;
  /** Called after every change of the record: publishes it and rewrites the state file. */
  readonly changed: Effect.Effect<void>;
}

/** The restart backoff: exponential from `base`, never longer than `cap`. */
export const replicaRestartSchedule = (base: Duration.DurationInput, cap: Duration.DurationInput) =>
  Schedule.exponential(base, 2).pipe(Schedule.union(Schedule.spaced(cap)));

export const serverLogPath = (rec: ReplicaRecord): string => join(rec.dir, "server.log");
export const sidecarLogPath = (rec: ReplicaRecord): string => join(rec.dir, "sidecar.log");
export const modelRepositoryOf = (rec: ReplicaRecord): string => join(rec.dir, "models");

function failureOf(reason: ReplicaFailure["reason"], message: string, rec: ReplicaRecord, config: ProcessBackendConfig, exit?: ExitInfo): ReplicaFailure {
  const server = logTail(serverLogPath(rec), config.logTailBytes);
  const sidecar = rec.run?.sidecar === undefined ? "" : logTail(sidecarLogPath(rec), config.logTailBytes);
  const tail = sidecar === "" ? server : `${server}\n--- sidecar ---\n${sidecar}`;
  return { reason, message, logTail: tail, ...(exit?.code != null ? { exitCode: exit.code } : {}) };
}

const describeExit = (role: ChildRole, exit: ExitInfo): string =>
  exit.signal !== null ? `${role} ended by ${exit.signal}` : `${role} exited with code ${exit.code ?? "?"}`;

/** Spawns the replica's processes and records them (uninterruptible: a spawned child is never lost). */
const startRun = (rec: ReplicaRecord, env: ReplicaEnvironment): Effect.Effect<Run, Error> =>
  Effect.gen(function* () {
    const { config } = env;
    const spec = env.spec();
    const ports = rec.ports ?? (yield* freePorts(config.host, 3).pipe(Effect.map(([http, grpc, metrics]) => ({ http, grpc, metrics }))));
    rec.ports = ports;
    mkdirSync(modelRepositoryOf(rec), { recursive: true });
    const runtime = env.runtime(spec.image);
    const marks = (role: ChildRole) => ({ [ENV_STATE_DIR]: config.stateDir, [ENV_REPLICA_ID]: rec.replicaId, [ENV_ROLE]: role });
    const baseEnv = { ...(process.env as Record<string, string>), CUDA_VISIBLE_DEVICES: rec.placement.gpus.join(",") };
    const server = yield* spawnChild({
      role: "server",
      command: serverCommand(runtime, { host: config.host, ...ports, modelRepository: modelRepositoryOf(rec) }),
      env: { ...baseEnv, ...(runtime.kind === "custom" ? runtime.env : {}), ...marks("server") },
      cwd: REPO_ROOT,
      logPath: serverLogPath(rec),
    });
    let sidecar: ChildHandle | undefined;
    if (spec.sidecar !== undefined) {
      const settings = spec.sidecar;
      sidecar = yield* spawnChild({
        role: "sidecar",
        command: sidecarCommand(config, {
          berthd: settings.berthd,
          serverHttp: `${config.host}:${ports.http}`,
          serverId: spec.serverId,
          replicaId: rec.replicaId,
          cache: settings.cache,
          serverRepository: modelRepositoryOf(rec),
          repositories: settings.repositories,
        }),
        // Credentials go in the environment: a command line is visible to every user of the machine.
        env: { ...baseEnv, ...sidecarEnvironment(settings), ...marks("sidecar") },
        cwd: REPO_ROOT,
        logPath: sidecarLogPath(rec),
      }).pipe(Effect.tapError(() => stopChild(server, config.stopGraceMs)));
    }
    const run: Run = { ports, server, ...(sidecar !== undefined ? { sidecar } : {}) };
    rec.run = run;
    yield* env.changed;
    return run;
  }).pipe(Effect.uninterruptible);

/** Ends when the first of the run's processes exits. */
const firstExit = (run: Run): Effect.Effect<{ role: ChildRole; exit: ExitInfo }> =>
  run.sidecar === undefined
    ? run.server.exit.pipe(Effect.map((exit) => ({ role: "server" as const, exit })))
    : Effect.raceFirst(
        run.server.exit.pipe(Effect.map((exit) => ({ role: "server" as const, exit }))),
        run.sidecar.exit.pipe(Effect.map((exit) => ({ role: "sidecar" as const, exit }))),
      );

export const stopRun = (run: Run, graceMs: number): Effect.Effect<void> =>
  Effect.all([stopChild(run.server, graceMs), ...(run.sidecar === undefined ? [] : [stopChild(run.sidecar, graceMs)])], { concurrency: "unbounded", discard: true });

/**
 * The replica's life: start (or take over `adopted`), wait for ready, wait for an exit,
 * restart after the backoff; stop after `maxFastCrashes` fast crashes in a row, Failed.
 * Interrupting it leaves the processes of the current run alive: the owner stops them or
 * leaves them for adoption.
 */
export const superviseReplica = (rec: ReplicaRecord, env: ReplicaEnvironment, adopted?: Run): Effect.Effect<void> =>
  Effect.gen(function* () {
    const { config } = env;
    const driver = yield* Schedule.driver(replicaRestartSchedule(Duration.millis(config.restartBaseMs), Duration.millis(config.restartCapMs)));
    let fastCrashes = 0;
    let pending = adopted;
    for (;;) {
      const startedAt = yield* Clock.currentTimeMillis;
      let failure: ReplicaFailure;
      let readyAt: number | undefined;
      const started = pending !== undefined ? Effect.succeed(pending) : startRun(rec, env);
      pending = undefined;
      const run = yield* Effect.either(started);
      if (run._tag === "Left") {
        failure = failureOf("StartFailed", run.left.message, rec, config);
      } else {
        const ready = probeReady(config.host, run.right.ports.http).pipe(
          Effect.repeat({ until: (ok) => ok, schedule: readinessSchedule(config.probeIntervalMs) }),
        );
        const outcome = yield* Effect.raceFirst(
          ready.pipe(Effect.as({ _tag: "ready" as const })),
          firstExit(run.right).pipe(Effect.map((ended) => ({ _tag: "exited" as const, ...ended }))),
        ).pipe(Effect.timeoutTo({ duration: Duration.millis(config.readyTimeoutMs), onSuccess: (o) => o, onTimeout: () => ({ _tag: "timeout" as const }) }));
        if (outcome._tag === "ready") {
          readyAt = yield* Clock.currentTimeMillis;
          rec.state = "Ready";
          yield* env.changed;
          const ended = yield* firstExit(run.right);
          failure = failureOf("Crashed", describeExit(ended.role, ended.exit), rec, config, ended.exit);
        } else if (outcome._tag === "exited") {
          failure = failureOf("StartFailed", `${describeExit(outcome.role, outcome.exit)} before it was ready`, rec, config, outcome.exit);
        } else {
          failure = failureOf("NotReady", `not ready after ${config.readyTimeoutMs} ms`, rec, config);
        }
        yield* stopRun(run.right, config.stopGraceMs);
      }
      rec.run = undefined;
      // A start that never got ready may have lost its ports to another process: pick new ones.
      if (readyAt === undefined) rec.ports = undefined;
      const endedAt = yield* Clock.currentTimeMillis;
      const fast = readyAt === undefined || endedAt - startedAt < config.fastCrashWindowMs;
      if (fast) fastCrashes++;
      else {
        fastCrashes = 0;
        yield* driver.reset;
      }
      rec.lastError = failure;
      if (fastCrashes >= config.maxFastCrashes) {
        rec.state = "Failed";
        yield* env.changed;
        return;
      }
      rec.state = "Down";
      yield* env.changed;
      yield* driver.next(undefined).pipe(Effect.ignore);
      rec.restarts++;
      rec.state = "Starting";
      yield* env.changed;
    }
  });
