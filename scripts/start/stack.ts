// The serving path on one machine: berthd (every layer, in this process) and the router, fed
// from berthd's API like any other client would feed it. Both are the apps' own entry points;
// this file only wires them and stops them in the reverse order.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Effect, Either, Layer, ManagedRuntime } from "effect";
import { createBerthClient, type BerthClient } from "@berth/api/berth";
import { berthdLayer, GrpcServer, HttpServer, loadConfig, type BerthdConfigShape } from "@berth/control-plane";
import { followBerthd, type BerthdFeed } from "@berth/router/berthd-feed";
import { InMemoryRouteTable, startRouter, type RunningRouter } from "@berth/router";
import { berthdFileLogger } from "./berthd-logger.js";
import { oneMachineDefaults } from "./one-machine-defaults.js";
import type { StartFlags } from "./flags.js";

export interface RunningStack {
  readonly config: BerthdConfigShape;
  /** berthd's gRPC API, host:port. */
  readonly berthd: string;
  /** berthd's health and metrics, http://host:port. */
  readonly berthdHttp: string;
  readonly router: { readonly host: string; readonly http: number; readonly grpc: number | null };
  readonly logFile: string;
  stop(): Promise<void>;
}

export class StackError extends Error {
  override readonly name = "StackError";
}

/** berthd's configuration from its file, BERTH_* environment and the flags; a ConfigError becomes a StackError listing every problem. */
export async function stackConfig(flags: StartFlags, env: NodeJS.ProcessEnv = process.env): Promise<BerthdConfigShape> {
  const loaded = await Effect.runPromise(Effect.either(loadConfig({ flags: flags.berthd, env })));
  if (Either.isLeft(loaded)) throw new StackError(`berthd's configuration: ${loaded.left.message}`);
  return oneMachineDefaults(loaded.right);
}

export async function startStack(flags: StartFlags, config: BerthdConfigShape): Promise<RunningStack> {
  mkdirSync(config.stateDir, { recursive: true });
  const logFile = join(config.stateDir, "berthd.log");
  const runtime = ManagedRuntime.make(berthdLayer(config).pipe(Layer.provide(berthdFileLogger(logFile))));
  let grpcAddress: string;
  let httpAddress: string;
  try {
    grpcAddress = (await runtime.runPromise(GrpcServer)).address;
    httpAddress = (await runtime.runPromise(HttpServer)).address;
  } catch (e) {
    await runtime.dispose().catch(() => undefined);
    throw new StackError(`berthd did not start: ${e instanceof Error ? e.message : String(e)} (its log: ${logFile})`);
  }

  let client: BerthClient | undefined;
  let feed: BerthdFeed | undefined;
  let router: RunningRouter | undefined;
  const stopAll = async (): Promise<void> => {
    // Router first (no new requests; its last activity report still reaches berthd), then the
    // feed and its client, then berthd, which stops the servers its backend started.
    await router?.close();
    await feed?.close();
    client?.close();
    await runtime.dispose();
  };
  try {
    client = createBerthClient(grpcAddress);
    const routes = new InMemoryRouteTable();
    const log = (line: string) => process.stderr.write(`router: ${line}\n`);
    feed = followBerthd({ client, routes, log });
    router = await startRouter({
      host: flags.routerHost,
      httpPort: flags.routerHttpPort,
      grpcPort: flags.routerGrpcPort,
      picker: "power-of-two",
      routes,
      onActivity: feed.onActivity,
      activityIntervalMs: flags.activityIntervalMs,
      log,
    });
  } catch (e) {
    await stopAll();
    throw new StackError(`the router did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
  await feed.synced;
  let stopping: Promise<void> | undefined;
  return {
    config,
    berthd: grpcAddress,
    berthdHttp: `http://${httpAddress}`,
    router: { host: flags.routerHost, http: router.ports.http, grpc: router.ports.grpc },
    logFile,
    stop: () => (stopping ??= stopAll()),
  };
}
