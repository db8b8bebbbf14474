// Wires one sidecar: repositories, the puller, the server client, the reconciler, the berthd
// connection, and three loops run as Effect fibers (the stream, the server check, activity and
// health reports).
import { Effect, Fiber, Schedule } from "effect";
import type { Hello } from "@berth/api/sidecar";
import { ModelPuller } from "@berth/repository/pull/model-puller";
import type { ModelSource } from "@berth/repository/sources/model-source";
import { openModelSource, repositoryAuthEnvVar } from "@berth/repository/sources/open-source";
import { ActivityTracker } from "./activity.js";
import { berthdReconnectSchedule, BerthdConnection } from "./connection.js";
import type { SidecarOptions } from "./flags.js";
import { stderrLog, type Log } from "./log.js";
import { Reconciler } from "./reconciler.js";
import { createServerClient } from "./server-client.js";
import { ServerRepository } from "./server-repository.js";

export interface SidecarEnvironment {
  readonly log?: Log;
  /** Where BERTH_REPOSITORY_AUTH_<NAME> headers and S3's AWS_* settings are read (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reconnect backoff (default: berthdReconnectSchedule()). */
  readonly reconnect?: { readonly base: string; readonly cap: string };
}

export interface Sidecar {
  readonly reconciler: Reconciler;
  readonly connection: BerthdConnection;
  /** Stops the loops and closes the stream; models stay loaded (the server keeps serving). */
  close(): Promise<void>;
}

export function startSidecar(options: SidecarOptions, environment: SidecarEnvironment = {}): Sidecar {
  const log = environment.log ?? stderrLog;
  const env = environment.env ?? process.env;
  const sources = new Map<string, ModelSource>(options.repositories.map((r) => [r.name, openModelSource(r, env[repositoryAuthEnvVar(r.name)], env)]));
  const server = createServerClient(options.serverHttp);
  let connection: BerthdConnection | undefined;
  const reconciler = new Reconciler({
    server,
    puller: new ModelPuller(options.cache),
    sources,
    serverRepository: new ServerRepository(options.serverRepository),
    report: (r) => void connection?.send(r),
    log,
    now: () => Date.now(),
  });
  const hello = async (): Promise<Hello> => ({
    server_id: options.serverId,
    replica_id: options.replicaId,
    server_endpoint: options.serverHttp,
    loaded_models: await server.readyModels().catch(() => reconciler.loadedModels()),
    generation: reconciler.generation,
  });
  connection = new BerthdConnection(
    options.berthd,
    { hello, onAssignment: (a) => void reconciler.setDesired(a), onConnected: () => reconciler.resendAll() },
    log,
    options.credentials,
  );
  const activity = new ActivityTracker(server, () => reconciler.loadedModels());
  const conn = connection;

  const checkServer = Effect.promise(() => reconciler.tick()).pipe(Effect.repeat(Schedule.spaced(options.pollIntervalMs)));
  // While berthd is away the counters are not read, so the deltas cover the gap when it is back.
  let activityFailing = false;
  const reportActivity = Effect.promise(async () => {
    if (!conn.connected) return;
    const models = await activity.poll().then(
      (m) => {
        activityFailing = false;
        return m;
      },
      (e: unknown) => {
        // Once per outage: the health report already says the server is down.
        if (!activityFailing) log("sidecar.activity-error", { error: (e as Error).message });
        activityFailing = true;
        return [];
      },
    );
    if (models.length > 0) conn.send({ activity: { models } });
    // Health goes out on every change too; repeating it lets berthd tell a live sidecar from a silent one.
    const health = reconciler.serverHealth;
    if (health !== undefined) conn.send({ health });
  }).pipe(Effect.repeat(Schedule.spaced(options.activityIntervalMs)));
  const reconnect = environment.reconnect === undefined ? berthdReconnectSchedule() : berthdReconnectSchedule(environment.reconnect.base as "1 second", environment.reconnect.cap as "1 second");

  const fiber = Effect.runFork(Effect.all([conn.run(reconnect), checkServer, reportActivity], { concurrency: "unbounded", discard: true }));
  log("sidecar.started", { serverId: options.serverId, replicaId: options.replicaId, berthd: options.berthd, server: server.baseUrl, repositories: options.repositories, tls: options.credentials?.berthdCa !== undefined, token: options.credentials?.token !== undefined });
  return {
    reconciler,
    connection: conn,
    async close() {
      await Effect.runPromise(Fiber.interrupt(fiber));
      await reconciler.idle();
    },
  };
}
