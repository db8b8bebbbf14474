import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { Context, Data, Effect, Layer } from "effect";
import { BERTH_PROTO_DIR, BERTH_PROTO_FILES, loadBerthProto } from "@berth/api/berth";
import { loadSidecarGrpc, SIDECAR_PROTO } from "@berth/api/sidecar";
import { BerthdConfig, type BerthdConfigShape } from "../config/config.js";
import { ApiAddress } from "./address.js";
import { Engine } from "../engine/engine.js";
import { SidecarHub } from "../executor/sidecar-hub.js";
import { logInfo } from "../log.js";
import { Metrics } from "../metrics/metrics.js";
import { Repositories } from "../repositories/repositories.js";
import { Store } from "../store/store.js";
import { makeAllowlistHandlers, makePoolHandlers, makeRepositoryHandlers, makeServerHandlers } from "./admin-services.js";
import { Allowlist } from "./allowlist.js";
import { makeLeaderGate } from "./leader-gate.js";
import { makeLeaseHandlers } from "./lease-service.js";
import { makeSidecarHandlers } from "./sidecar-service.js";

const LOCAL_PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
const HEALTH_PROTO = "grpc/health/v1/health.proto";

export class GrpcServerError extends Data.TaggedError("GrpcServerError")<{ readonly address: string; readonly message: string }> {}

export interface GrpcServerShape {
  /** The address it listens on, with the port it was given ("127.0.0.1:50051"). */
  readonly address: string;
  readonly port: number;
  /** Where sidecars connect (the API's address unless SidecarService has a listener of its own). */
  readonly sidecarAddress: string;
}

const HEALTH_SERVING = "SERVING";
const HEALTH_NOT_SERVING = "NOT_SERVING";

/** SERVING while this replica leads; a replica that lost the lead says NOT_SERVING (load balancers send callers elsewhere). */
const healthHandlers = (services: readonly string[], serving: () => boolean) => {
  const known = new Set(["", ...services]);
  const now = () => (serving() ? HEALTH_SERVING : HEALTH_NOT_SERVING);
  const status = (service: string) => (known.has(service) ? now() : "SERVICE_UNKNOWN");
  return {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (!known.has(call.request.service)) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      else callback(null, { status: now() });
    },
    // berthd serves while it runs: the current status once, then the stream stays open until the client leaves.
    Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
      call.write({ status: status(call.request.service) });
    },
  };
};

const credentials = (config: BerthdConfigShape): grpc.ServerCredentials => {
  if (config.tls === undefined) return grpc.ServerCredentials.createInsecure();
  const read = (path: string) => readFileSync(path);
  const ca = config.tls.clientCa === undefined ? null : read(config.tls.clientCa);
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: read(config.tls.cert), private_key: read(config.tls.key) }], ca !== null);
};

/**
 * SidecarService's own listener: TLS without client certificates when sidecars hold tokens and
 * berthd has a certificate (they prove themselves with the token); plaintext otherwise.
 */
const sidecarCredentials = (config: BerthdConfigShape): grpc.ServerCredentials => {
  if (config.tls === undefined || config.sidecarTls === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(config.tls.cert), private_key: readFileSync(config.tls.key) }], false);
};

export const makeGrpcServer = Effect.gen(function* () {
  const config = yield* BerthdConfig;
  const engine = yield* Engine;
  const hub = yield* SidecarHub;
  const repositories = yield* Repositories;
  const allowlist = yield* Allowlist;
  const metrics = yield* Metrics;
  const runtime = yield* Effect.runtime<never>();
  const gate = yield* makeLeaderGate((yield* Store).leadership);
  const add = (target: grpc.Server, definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) =>
    target.addService(definition, gate.guard(definition, handlers));

  const berth = loadBerthProto();
  const server = new grpc.Server();
  const deps = { config, engine, hub, repositories, allowlist, metrics };
  add(server, berth.LeaseService.service, makeLeaseHandlers(deps, runtime));
  add(server, berth.PoolService.service, makePoolHandlers(deps, runtime));
  add(server, berth.AllowlistService.service, makeAllowlistHandlers(deps, runtime));
  add(server, berth.ServerService.service, makeServerHandlers(deps, runtime));
  add(server, berth.RepositoryService.service, makeRepositoryHandlers(deps, runtime));
  const sidecars = makeSidecarHandlers(hub, runtime, config.auth) as unknown as grpc.UntypedServiceImplementation;
  // Sidecars on a listener of their own (sidecarListen): plaintext, kept to the loopback unless the operator says otherwise.
  const sidecarServer = config.sidecarListen === undefined ? server : new grpc.Server();
  add(sidecarServer, loadSidecarGrpc().service, sidecars);

  const all = protoLoader.loadSync([...BERTH_PROTO_FILES, SIDECAR_PROTO, HEALTH_PROTO], { includeDirs: [BERTH_PROTO_DIR, LOCAL_PROTO_DIR], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const healthPkg = grpc.loadPackageDefinition(all) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  const serviceNames = [...Object.values(berth).map((s) => s.name), "berth.v1.SidecarService"];
  server.addService(healthPkg.grpc.health.v1.Health.service, healthHandlers(serviceNames, gate.leading) as unknown as grpc.UntypedServiceImplementation);
  new ReflectionService(all as never).addToServer(server);

  const bind = (target: grpc.Server, listen: string, creds: grpc.ServerCredentials) =>
    Effect.gen(function* () {
      const port = yield* Effect.async<number, GrpcServerError>((resume) => {
        target.bindAsync(listen, creds, (error, bound) =>
          resume(error ? Effect.fail(new GrpcServerError({ address: listen, message: error.message })) : Effect.succeed(bound)),
        );
      });
      yield* Effect.addFinalizer(() =>
        Effect.async<void>((resume) => {
          const timer = setTimeout(() => target.forceShutdown(), 2000);
          target.tryShutdown(() => {
            clearTimeout(timer);
            resume(Effect.void);
          });
        }),
      );
      return { port, address: listen.replace(/:\d+$/, `:${port}`) };
    });
  const { port, address } = yield* bind(server, config.listen, credentials(config));
  const sidecarAddress =
    sidecarServer === server ? address : (yield* bind(sidecarServer, config.sidecarListen!, sidecarCredentials(config))).address;
  yield* (yield* ApiAddress).set(sidecarAddress);
  yield* logInfo("gRPC API listening", { address, sidecars: sidecarAddress, tls: config.tls !== undefined, mtls: config.tls?.clientCa !== undefined, auth: config.auth.enabled, sidecarTokens: config.auth.sidecarSecret !== undefined });
  const shape: GrpcServerShape = { address, port, sidecarAddress };
  return shape;
});

export class GrpcServer extends Context.Tag("@berth/control-plane/GrpcServer")<GrpcServer, GrpcServerShape>() {
  static readonly layer: Layer.Layer<GrpcServer, GrpcServerError, BerthdConfig | Engine | SidecarHub | Repositories | Allowlist | Metrics | ApiAddress | Store> = Layer.scoped(GrpcServer, makeGrpcServer);
}
