import { join } from "node:path";
import { Effect, Layer } from "effect";
import type { Backend } from "@berth/backends/backend";
import type { BackendError } from "@berth/backends/errors";
import { makeBackendLayer } from "@berth/backends/registry";
import { ApiAddress } from "./api/address.js";
import { Allowlist } from "./api/allowlist.js";
import { GrpcServer } from "./api/grpc-server.js";
import { BerthdConfig, type BerthdConfigShape } from "./config/config.js";
import { Engine } from "./engine/engine.js";
import { registerNodes } from "./engine/nodes.js";
import { Executor } from "./executor/executor.js";
import { LeaseRouting } from "./executor/lease-routing.js";
import { SidecarHub } from "./executor/sidecar-hub.js";
import { simBackendLayer } from "./executor/sim-backend.js";
import { HttpServer } from "./http/http-server.js";
import { Metrics } from "./metrics/metrics.js";
import { Repositories } from "./repositories/repositories.js";
import { leaderGatedLayer } from "./leadership/gated-backend.js";
import { withKubernetesLeadership } from "./leadership/kubernetes-leadership.js";
import type { StoreError } from "./store/errors.js";
import { Store } from "./store/store.js";

// berthd as one layer: store -> engine (recover) -> sidecar hub -> backend -> executor
// (reconcile) -> nodes -> gRPC API -> health/metrics HTTP. Each piece is a service with its
// layer; this file only wires them in start-up order.

/** The configured store; with `backend.kubernetes.leaderElection`, leading also takes the Kubernetes Lease. */
export const storeLayer = (config: BerthdConfigShape): Layer.Layer<Store, StoreError> => withKubernetesLeadership(config, configuredStore(config));

const configuredStore = (config: BerthdConfigShape) => {
  switch (config.store.kind) {
    case "memory":
      return Store.layerMemory;
    case "postgres":
      return Store.layerPostgres({
        url: config.store.url!,
        ...(config.store.schema !== undefined ? { schema: config.store.schema } : {}),
        ...(config.store.replica !== undefined ? { replica: config.store.replica } : {}),
      });
    case "sqlite":
      return Store.layerSqlite({ path: config.store.path });
  }
};

/** berth-sidecar's own `--activity-interval-ms` default. */
const SIDECAR_ACTIVITY_DEFAULT_MS = 10_000;

export const backendLayer = (config: BerthdConfigShape): Layer.Layer<Backend, BackendError, SidecarHub | Engine> => {
  switch (config.backend.kind) {
    case "sim":
      return simBackendLayer(config.backend.sim);
    case "process":
      return makeBackendLayer("process", {
        stateDir: join(config.stateDir, "servers"),
        // The autoscalers sample the sidecars' load every sync period: a sidecar reporting less
        // often (its default is 10 s) would leave most periods without a sample.
        ...(config.decide.autoscaler.syncPeriod < SIDECAR_ACTIVITY_DEFAULT_MS ? { sidecarActivityIntervalMs: config.decide.autoscaler.syncPeriod } : {}),
        ...config.backend.process,
      });
    case "docker":
    case "kubernetes":
      return makeBackendLayer(config.backend.kind, config.backend[config.backend.kind]);
  }
};

/** `store`: the store to run on (serve.ts keeps one open across leadership terms); default a fresh one. */
export const berthdLayer = (config: BerthdConfigShape, store: Layer.Layer<Store, StoreError> = storeLayer(config)) => {
  const foundation = Layer.mergeAll(BerthdConfig.layer(config), Metrics.layer, ApiAddress.layer).pipe(Layer.provideMerge(store), Layer.provideMerge(BerthdConfig.layer(config)));
  const engine = Engine.layer.pipe(Layer.provideMerge(foundation));
  const hub = SidecarHub.layer.pipe(Layer.provideMerge(engine));
  // Only a leader acts on servers: a replica that loses the lead stops at once (PostgreSQL HA).
  const backend = leaderGatedLayer(backendLayer(config)).pipe(Layer.provideMerge(hub));
  const executor = Layer.merge(Executor.layer, LeaseRouting.layer).pipe(Layer.provideMerge(backend));
  // Nodes after the executor: a node can unblock waiting leases, and their intents must be acted on.
  const nodes = Layer.effectDiscard(Effect.flatMap(Engine, (e) => registerNodes(e, config))).pipe(Layer.provideMerge(executor));
  const services = Layer.mergeAll(Repositories.layer, Allowlist.layer).pipe(Layer.provideMerge(nodes));
  const api = GrpcServer.layer.pipe(Layer.provideMerge(services));
  return HttpServer.layer.pipe(Layer.provideMerge(api));
};
