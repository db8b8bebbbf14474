// The KServe v2 gRPC front door (inference.GRPCInferenceService) as a byte pass-through: each
// rpc is registered with identity (de)serializers, the model is read from the request's
// model-name field (its number taken from the proto), and the bytes go to a replica's channel
// unchanged. Server liveness, readiness and metadata are answered here; the repository API
// is refused, because leases load models.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { KSERVE_GRPC_SERVICE_PROTO, KSERVE_LOADER_OPTIONS, KSERVE_SERVICE_NAME } from "@berth/api/kserve";
import { performance } from "node:perf_hooks";
import type { AutoLeaser } from "./auto-lease.js";
import type { Dispatch, Dispatcher } from "./dispatcher.js";
import { UNROUTED_MODEL, type RouterMetrics } from "./metrics.js";
import type { Refusal } from "./refusal.js";
import type { ReplicaState } from "./replica-state.js";
import type { RouteTable } from "./route-table.js";
import { readStringField, WireFormatError } from "./wire-field.js";

export interface GrpcProxyDeps {
  readonly table: RouteTable;
  readonly dispatcher: Dispatcher;
  readonly autoLeaser: AutoLeaser;
  readonly replicas: ReplicaState;
  readonly metrics: RouterMetrics;
  readonly serverMetadata: { readonly name: string; readonly version: string; readonly extensions: readonly string[] };
}

type Method = protoLoader.MethodDefinition<object, object>;
type Unary = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void;

const identity = (b: Buffer) => b;

/** Requests that only read go once more to another replica after any UNAVAILABLE; others only when the call never reached the replica. */
const READS = new Set(["ModelReady", "ModelMetadata", "ModelConfig", "ModelStatistics"]);
const MAX_TRIES = 2;
const UNLIMITED = { "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 };

/** The request field naming the model (`model_name`, else `name`), by number, from the proto. */
export function modelFieldNumber(method: Method): number | undefined {
  const fields = (method.requestType.type as { field?: { name: string; number: number; type: string }[] }).field ?? [];
  const f = fields.find((x) => x.name === "model_name" && x.type === "TYPE_STRING") ?? fields.find((x) => x.name === "name" && x.type === "TYPE_STRING");
  return f?.number;
}

/** Whether an UNAVAILABLE says the call never reached the replica (safe to send elsewhere). */
const neverConnected = (e: grpc.ServiceError) => /No connection established|ECONNREFUSED|connect /i.test(e.details ?? e.message);

const statusError = (code: grpc.status, details: string, retryAfterS?: number): Partial<grpc.StatusObject> => {
  const metadata = new grpc.Metadata();
  if (retryAfterS !== undefined) metadata.set("retry-after", String(retryAfterS));
  return { code, details, metadata };
};

export function loadKServeService(): protoLoader.ServiceDefinition {
  const definition = protoLoader.loadSync(KSERVE_GRPC_SERVICE_PROTO, KSERVE_LOADER_OPTIONS);
  return definition[KSERVE_SERVICE_NAME] as protoLoader.ServiceDefinition;
}

export function createGrpcProxy(deps: GrpcProxyDeps): grpc.Server & { closeUpstreams(): void } {
  const { dispatcher, autoLeaser, replicas, metrics } = deps;
  const service = loadKServeService();
  const clients = new Map<string, grpc.Client>();
  const clientFor = (address: string) => {
    let c = clients.get(address);
    if (c === undefined) clients.set(address, (c = new grpc.Client(address, grpc.credentials.createInsecure(), UNLIMITED)));
    return c;
  };

  const passthrough: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};

  const local = (method: Method, answer: () => object): Unary => (_call, callback) => {
    callback(null, method.responseSerialize(answer()));
  };

  const routed = (name: string, method: Method, field: number): Unary => {
    const refuse = (callback: grpc.sendUnaryData<Buffer>, model: string, r: Refusal) => {
      const code = r.reason === "NoLease" ? grpc.status.NOT_FOUND : grpc.status.UNAVAILABLE;
      metrics.request("grpc", r.reason === "NoLease" ? UNROUTED_MODEL : model, grpc.status[code]);
      callback(statusError(code, r.message, r.retryAfterS));
    };

    const attempt = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>, model: string, tried: Set<string> | undefined, afterHold: boolean): void => {
      const route = dispatcher.route(model, "grpc", tried, afterHold);
      if (route.kind === "refused") return refuse(callback, model, route);
      if (route.kind === "hold") {
        const abort = new AbortController();
        const onCancel = () => abort.abort();
        call.once("cancelled", onCancel);
        void autoLeaser.hold(model, route.policy, abort.signal).then((outcome) => {
          call.off("cancelled", onCancel);
          if (call.cancelled) return;
          if (outcome !== undefined) refuse(callback, model, outcome);
          else attempt(call, callback, model, tried, true);
        });
        return;
      }
      forward(call, callback, model, route, tried);
    };

    const forward = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>, model: string, route: Dispatch, tried: Set<string> | undefined) => {
      const { candidate } = route;
      const started = performance.now();
      const upstream = clientFor(candidate.address).makeUnaryRequest(
        method.path,
        identity,
        identity,
        call.request,
        call.metadata.clone(),
        { deadline: call.getDeadline() },
        (error, value) => {
          call.off("cancelled", onCancel);
          dispatcher.done(candidate);
          if (error === null) {
            replicas.markUp(candidate.id);
            metrics.request("grpc", model, "OK");
            metrics.upstreamLatency(model, (performance.now() - started) / 1000);
            return callback(null, value);
          }
          if (error.code === grpc.status.UNAVAILABLE && !call.cancelled) {
            const safe = neverConnected(error);
            if (safe) replicas.markDown(candidate.id);
            if (safe || (READS.has(name) && (tried?.size ?? 0) + 1 < MAX_TRIES)) {
              metrics.retry();
              const next = new Set(tried);
              next.add(candidate.id);
              return attempt(call, callback, model, next, true);
            }
            metrics.request("grpc", model, grpc.status[error.code]);
            return callback(statusError(error.code, `replica '${candidate.id}' (${candidate.address}) of model '${model}' is unavailable: ${error.details}`));
          }
          metrics.request("grpc", model, grpc.status[error.code] ?? String(error.code));
          callback(error);
        },
      );
      const onCancel = () => upstream.cancel();
      call.once("cancelled", onCancel);
    };

    return (call, callback) => {
      let model: string | undefined;
      try {
        model = readStringField(call.request, field);
      } catch (e) {
        if (!(e instanceof WireFormatError)) throw e;
        metrics.request("grpc", UNROUTED_MODEL, "INVALID_ARGUMENT");
        return callback(statusError(grpc.status.INVALID_ARGUMENT, `malformed ${name} request: ${e.message}`));
      }
      if (model === undefined || model === "") {
        metrics.request("grpc", UNROUTED_MODEL, "INVALID_ARGUMENT");
        return callback(statusError(grpc.status.INVALID_ARGUMENT, `${name} through the router must name a model`));
      }
      attempt(call, callback, model, undefined, false);
    };
  };

  for (const [name, method] of Object.entries(service) as [string, Method][]) {
    passthrough[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      originalName: method.originalName,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    const field = modelFieldNumber(method);
    let handler: Unary;
    if (name === "ServerLive") handler = local(method, () => ({ live: true }));
    else if (name === "ServerReady") handler = local(method, () => ({ ready: deps.table.loaded }));
    else if (name === "ServerMetadata") handler = local(method, () => deps.serverMetadata);
    else if (name.startsWith("Repository"))
      handler = (_call, callback) =>
        callback(statusError(grpc.status.PERMISSION_DENIED, `the router does not serve ${name}: models are loaded and unloaded by leases (berth lease create)`));
    else if (field === undefined || method.requestStream || method.responseStream)
      handler = (_call, callback) => callback(statusError(grpc.status.UNIMPLEMENTED, `the router does not forward ${name}`));
    else handler = routed(name, method, field);
    handlers[name] = handler;
  }

  const server = new grpc.Server(UNLIMITED);
  server.addService(passthrough as grpc.ServiceDefinition, handlers);
  return Object.assign(server, {
    closeUpstreams() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  });
}
