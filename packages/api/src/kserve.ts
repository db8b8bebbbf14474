// Loads the KServe v2 / Triton gRPC contract (proto/kserve/grpc_service.proto) for servers
// and clients, and wraps the generated client in promise-returning methods.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type * as T from "./kserve-types.js";

export type * from "./kserve-types.js";

/** Directory holding grpc_service.proto and model_config.proto. */
export const KSERVE_PROTO_DIR = fileURLToPath(new URL("../proto/kserve", import.meta.url));
export const KSERVE_GRPC_SERVICE_PROTO = "grpc_service.proto";
/** Fully qualified service name, as Triton registers it. */
export const KSERVE_SERVICE_NAME = "inference.GRPCInferenceService";

/** Decoding choices that kserve-types.ts describes; servers and clients must agree on them. */
export const KSERVE_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [KSERVE_PROTO_DIR],
};

export interface KServeGrpc {
  readonly service: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
}

let loaded: KServeGrpc | undefined;

/** The service definition (for grpc.Server.addService) and the client constructor. */
export function loadKServeGrpc(): KServeGrpc {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync(KSERVE_GRPC_SERVICE_PROTO, KSERVE_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  const Client = pkg.inference.GRPCInferenceService;
  loaded = { service: Client.service, Client };
  return loaded;
}

/** A KServe v2 gRPC client with one promise-returning method per rpc. */
export interface KServeClient {
  serverLive(): Promise<T.ServerLiveResponse>;
  serverReady(): Promise<T.ServerReadyResponse>;
  serverMetadata(): Promise<T.ServerMetadataResponse>;
  modelReady(request: T.ModelReadyRequest): Promise<T.ModelReadyResponse>;
  modelMetadata(request: T.ModelMetadataRequest): Promise<T.ModelMetadataResponse>;
  modelConfig(request: T.ModelConfigRequest): Promise<T.ModelConfigResponse>;
  modelInfer(request: T.ModelInferRequest): Promise<T.ModelInferResponse>;
  modelStatistics(request: T.ModelStatisticsRequest): Promise<T.ModelStatisticsResponse>;
  repositoryIndex(request: T.RepositoryIndexRequest): Promise<T.RepositoryIndexResponse>;
  repositoryModelLoad(request: T.RepositoryModelLoadRequest): Promise<T.Empty>;
  repositoryModelUnload(request: T.RepositoryModelUnloadRequest): Promise<T.Empty>;
  close(): void;
}

type UnaryMethod = (request: unknown, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void;

/** Connects (lazily) to a KServe v2 gRPC endpoint such as "127.0.0.1:8001". */
export function createKServeClient(address: string, credentials = grpc.credentials.createInsecure()): KServeClient {
  const { Client } = loadKServeGrpc();
  const client = new Client(address, credentials) as unknown as Record<string, UnaryMethod> & grpc.Client;
  const call = <Res>(method: string, request: unknown): Promise<Res> =>
    new Promise((resolve, reject) => {
      client[method].call(client, request, (error, response) => (error ? reject(error) : resolve(response as Res)));
    });
  return {
    serverLive: () => call("ServerLive", {}),
    serverReady: () => call("ServerReady", {}),
    serverMetadata: () => call("ServerMetadata", {}),
    modelReady: (r) => call("ModelReady", r),
    modelMetadata: (r) => call("ModelMetadata", r),
    modelConfig: (r) => call("ModelConfig", r),
    modelInfer: (r) => call("ModelInfer", r),
    modelStatistics: (r) => call("ModelStatistics", r),
    repositoryIndex: (r) => call("RepositoryIndex", r),
    repositoryModelLoad: (r) => call("RepositoryModelLoad", r),
    repositoryModelUnload: (r) => call("RepositoryModelUnload", r),
    close: () => client.close(),
  };
}
