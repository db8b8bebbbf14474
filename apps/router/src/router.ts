// The router as one running thing: the routing table, the replica state, the dispatcher,
// activity reports on a timer, and the HTTP and gRPC listeners. `close` stops accepting
// requests, refuses held ones, reports the last activity and closes upstream connections.
import * as grpc from "@grpc/grpc-js";
import type { ReplicaPickerName } from "@berth/core/picker/registry";
import { rngFromSeed } from "@berth/core/random/rng";
import { ActivityCounter, type ActivityListener } from "./activity.js";
import { AutoLeaser, type RequestLease } from "./auto-lease.js";
import { Dispatcher } from "./dispatcher.js";
import { createGrpcProxy } from "./grpc-proxy.js";
import { createHttpFrontDoor } from "./http-relay.js";
import { RouterMetrics } from "./metrics.js";
import { ReplicaState } from "./replica-state.js";
import { InMemoryRouteTable, type RouteTable } from "./route-table.js";

export const ROUTER_NAME = "berth-router";
export const ROUTER_VERSION = "0.1.0";

export interface RouterOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly httpPort: number;
  /** 0 picks a free port; null serves no gRPC. */
  readonly grpcPort: number | null;
  readonly picker: ReplicaPickerName;
  /** Seed of the picker's random source (default: from the clock and pid). */
  readonly seed?: number;
  /** The table to route by (default: an empty in-memory one; set it through `routes`). */
  readonly routes?: RouteTable;
  /** Receives each lease's request count, drained every `activityIntervalMs` and at close. */
  readonly onActivity?: ActivityListener;
  readonly activityIntervalMs?: number;
  /** Asks for a lease for a model with an auto-lease policy and no lease (berthd wires it). */
  readonly requestLease?: RequestLease;
  /** How long a connection failure keeps a replica out of the picks. */
  readonly downMs?: number;
  /** Idle keep-alive connections to replicas close after this (below the replicas' own idle timeout). */
  readonly upstreamIdleMs?: number;
  readonly maxSocketsPerReplica?: number;
  /**
   * Relay plain HTTP/1.1 model traffic between sockets, bypassing node:http (default true);
   * false serves every HTTP request through node:http and undici.
   */
  readonly httpFastPath?: boolean;
  readonly log?: (line: string) => void;
}

export interface RunningRouter {
  readonly ports: { readonly http: number; readonly grpc: number | null };
  readonly routes: RouteTable;
  /** Reports and resets activity now (also done on the timer); returns what was reported. */
  drainActivity(): { lease: string; requests: number }[];
  metricsText(): string;
  close(): Promise<void>;
}

const SERVER_METADATA = { name: ROUTER_NAME, version: ROUTER_VERSION, extensions: ["binary_tensor_data", "model_configuration", "statistics"] };

export async function startRouter(options: RouterOptions): Promise<RunningRouter> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const table = options.routes ?? new InMemoryRouteTable();
  const replicas = new ReplicaState(options.downMs ?? 2_000);
  const activity = new ActivityCounter();
  const metrics = new RouterMetrics();
  const autoLeaser = new AutoLeaser(table, options.requestLease, log);
  const rng = rngFromSeed(options.seed ?? (Date.now() ^ (process.pid << 16)));
  const dispatcher = new Dispatcher(table, replicas, activity, autoLeaser, options.picker, rng);
  const unsubscribe = table.onChange(() => {
    const ids = new Set(table.current().leases.flatMap((l) => l.replicas.map((r) => r.id)));
    replicas.retain(ids);
  });

  const routedModels = () => new Set(table.current().leases.flatMap((l) => l.models)).size;
  const metricsText = () => metrics.render(replicas, autoLeaser.held(), routedModels(), table.loaded);
  const deps = { table, dispatcher, autoLeaser, replicas, metrics, serverMetadata: SERVER_METADATA };
  const http = createHttpFrontDoor(
    {
      ...deps,
      renderMetrics: metricsText,
      upstreamIdleMs: options.upstreamIdleMs ?? 4_000,
      maxSocketsPerReplica: options.maxSocketsPerReplica ?? 256,
    },
    { fastPath: options.httpFastPath ?? true },
  );
  const grpcServer = options.grpcPort === null ? undefined : createGrpcProxy(deps);

  const onActivity: ActivityListener = (lease, requests, at) => {
    try {
      options.onActivity?.(lease, requests, at);
    } catch (e) {
      log(`activity report for lease '${lease}' failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const drainActivity = () => activity.drain(Date.now(), onActivity);

  const httpPort = await http.listen(options.httpPort, options.host);
  let grpcPort: number | null = null;
  if (grpcServer !== undefined) {
    try {
      grpcPort = await new Promise<number>((resolve, reject) =>
        grpcServer.bindAsync(`${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.grpcPort}`, grpc.ServerCredentials.createInsecure(), (e, port) =>
          e ? reject(new Error(`gRPC cannot listen on ${options.host}:${options.grpcPort}: ${e.message}`)) : resolve(port),
        ),
      );
    } catch (e) {
      void http.close(0);
      throw e;
    }
  }
  const timer = setInterval(drainActivity, options.activityIntervalMs ?? 10_000);
  timer.unref();

  let closing: Promise<void> | undefined;
  return {
    ports: { http: httpPort, grpc: grpcPort },
    routes: table,
    drainActivity,
    metricsText,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        autoLeaser.close();
        unsubscribe();
        await Promise.all([
          // In-flight requests get a moment to finish, then their connections are cut.
          http.close(1_000),
          grpcServer === undefined
            ? Promise.resolve()
            : new Promise<void>((resolve) => {
                grpcServer.tryShutdown(() => resolve());
                setTimeout(() => grpcServer.forceShutdown(), 1_000).unref();
              }),
        ]);
        http.closeUpstreams();
        grpcServer?.closeUpstreams();
        drainActivity();
      })();
      return closing;
    },
  };
}
