// The model server as one scoped resource: the model registry, the startup loads, and the
// HTTP, gRPC and metrics listeners. Closing the scope stops accepting work, closes the
// listeners and unloads every model, in that order.
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { Cause, Data, Effect, Exit, Scope } from "effect";
import { DEFAULT_OPTIONS, type ServerOptions } from "./flags.js";
import { createGrpcServer } from "./grpc-server.js";
import { createHttpServer, createMetricsServer } from "./http-server.js";
import type { ListeningPorts } from "./listening-line.js";
import { renderMetrics } from "./metrics.js";
import { ModelRegistry } from "./model-registry.js";
import { ModelService } from "./model-service.js";

export class ModelServerStartError extends Data.TaggedError("ModelServerStartError")<{
  readonly reason: "Listen" | "LoadModel" | "Repository";
  readonly message: string;
}> {}

export interface ModelServer {
  readonly ports: ListeningPorts;
  readonly service: ModelService;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Closes a node:http server, dropping idle keep-alive connections so close does not hang. */
const closeHttp = (server: HttpServer) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void));
    server.closeAllConnections();
  });

const listenHttp = (name: string, server: HttpServer, host: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<number, ModelServerStartError>((resume) => {
      const onError = (e: Error) =>
        resume(Effect.fail(new ModelServerStartError({ reason: "Listen", message: `${name} cannot listen on ${host}:${port}: ${e.message}` })));
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        resume(Effect.succeed((server.address() as AddressInfo).port));
      });
    }),
    () => closeHttp(server),
  );

const listenGrpc = (server: grpc.Server, host: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<number, ModelServerStartError>((resume) => {
      const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error) resume(Effect.fail(new ModelServerStartError({ reason: "Listen", message: `gRPC cannot listen on ${address}: ${error.message}` })));
        else resume(Effect.succeed(bound));
      });
    }),
    () =>
      Effect.async<void>((resume) => {
        // In-flight calls get a moment to finish; then the server is torn down regardless.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resume(Effect.void);
        });
      }),
  );

const log = (line: string) => Effect.sync(() => process.stderr.write(`${line}\n`));

/** Loads the startup models: all of them in `none` mode, the named ones in `explicit` mode. */
const loadStartupModels = (registry: ModelRegistry, options: ServerOptions) =>
  Effect.gen(function* () {
    const all = yield* Effect.tryPromise({
      try: () => registry.repositoryModels(),
      catch: (e) => new ModelServerStartError({ reason: "Repository", message: `cannot read model repository ${options.modelRepository}: ${message(e)}` }),
    });
    const wanted =
      options.modelControlMode === "none" || options.loadModels.includes("*") ? all : [...new Set(options.loadModels)];
    for (const name of wanted) {
      const loaded = yield* Effect.tryPromise({
        try: () => registry.load(name),
        catch: (e) => new ModelServerStartError({ reason: "LoadModel", message: message(e) }),
      }).pipe(Effect.either);
      if (loaded._tag === "Left") {
        if (options.exitOnError) return yield* Effect.fail(loaded.left);
        yield* log(`error: ${loaded.left.message}`);
      } else {
        yield* log(`loaded model '${name}'`);
      }
    }
  });

/** The running server, alive as long as the enclosing scope. */
export const modelServer = (options: ServerOptions): Effect.Effect<ModelServer, ModelServerStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const registry = new ModelRegistry(options.modelRepository, options.modelControlMode, { intraOpThreads: options.intraOpThreads });
    yield* Effect.addFinalizer(() => Effect.promise(() => registry.close()));
    yield* loadStartupModels(registry, options);
    const service = new ModelService(registry);
    const http = yield* listenHttp("HTTP", createHttpServer(service), options.httpAddress, options.httpPort);
    const grpcPort = yield* listenGrpc(createGrpcServer(service), options.grpcAddress, options.grpcPort);
    const metrics = yield* listenHttp("metrics", createMetricsServer(() => renderMetrics(registry.loaded())), options.metricsAddress, options.metricsPort);
    // Runs first on close: report not-ready while the listeners drain.
    yield* Effect.addFinalizer(() => Effect.sync(() => service.beginShutdown()));
    return { ports: { http, grpc: grpcPort, metrics }, service };
  });

export interface RunningModelServer extends ModelServer {
  close(): Promise<void>;
}

/** Starts the server outside Effect (tests, embedding): `close()` releases everything. */
export async function startModelServer(
  options: Partial<ServerOptions> & Pick<ServerOptions, "modelRepository">,
): Promise<RunningModelServer> {
  const full: ServerOptions = { ...DEFAULT_OPTIONS, ...options };
  const scope = Effect.runSync(Scope.make());
  const exit = await Effect.runPromiseExit(Scope.extend(modelServer(full), scope));
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit));
    throw Cause.squash(exit.cause);
  }
  return { ...exit.value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
}
