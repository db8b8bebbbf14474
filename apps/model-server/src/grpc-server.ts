// Triton's GRPCInferenceService on @grpc/grpc-js, translating each rpc onto the ModelService.
// Outputs go back as raw_output_contents, as Triton sends them.
import * as grpc from "@grpc/grpc-js";
import { loadKServeGrpc } from "@berth/api/kserve";
import type * as K from "@berth/api/kserve";
import { configJson } from "./config-json.js";
import { isKServeDatatype } from "./datatypes.js";
import { asServerError, grpcStatusOf, invalidArgument } from "./errors.js";
import type { InferInput, ModelService } from "./model-service.js";
import { tensorFromBytes, tensorFromContents, tensorToBytes } from "./tensor-codec.js";

type Handler<Req, Res> = (request: Req) => Res | Promise<Res>;

function unary<Req, Res>(handler: Handler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (response) => callback(null, response),
        (e: unknown) => {
          const error = asServerError(e);
          callback({ code: grpcStatusOf(error.code), details: error.message, name: "ServerError", message: error.message });
        },
      );
  };
}

function inferInputs(request: K.ModelInferRequest): InferInput[] {
  const raw = request.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw invalidArgument(`expected ${request.inputs.length} raw_input_contents, one per input, but got ${raw.length}`);
  }
  return request.inputs.map((input, i) => {
    const shape = input.shape.map(Number);
    const datatype = input.datatype;
    const decode = () => {
      if (!isKServeDatatype(datatype)) throw invalidArgument(`input '${input.name}' has unknown datatype '${datatype}'`);
      if (raw.length > 0) return tensorFromBytes(input.name, datatype, shape, raw[i]);
      if (input.contents == null) throw invalidArgument(`input '${input.name}' has no contents`);
      return tensorFromContents(input.name, datatype, shape, input.contents);
    };
    return { header: { name: input.name, datatype, shape }, decode };
  });
}

export function createGrpcServer(service: ModelService): grpc.Server {
  const server = new grpc.Server({ "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
  const implementation: grpc.UntypedServiceImplementation = {
    ServerLive: unary<unknown, K.ServerLiveResponse>(() => ({ live: true })),
    ServerReady: unary<unknown, K.ServerReadyResponse>(() => ({ ready: service.serverReady() })),
    ModelReady: unary<K.ModelReadyRequest, K.ModelReadyResponse>((r) => ({ ready: service.modelReady(r.name, r.version) })),
    ServerMetadata: unary<unknown, K.ServerMetadataResponse>(() => service.serverMetadata()),
    ModelMetadata: unary<K.ModelMetadataRequest, K.ModelMetadataResponse>((r) => service.modelMetadata(r.name, r.version)),
    ModelConfig: unary<K.ModelConfigRequest, unknown>((r) => ({ config: configJson(service.modelConfig(r.name, r.version)) })),
    ModelInfer: unary<K.ModelInferRequest, unknown>(async (r) => {
      const response = await service.infer({
        model: r.model_name,
        ...(r.model_version ? { version: r.model_version } : {}),
        ...(r.id ? { id: r.id } : {}),
        inputs: inferInputs(r),
        outputs: (r.outputs ?? []).map((o) => o.name),
      });
      return {
        model_name: response.model_name,
        model_version: response.model_version,
        id: response.id,
        outputs: response.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        raw_output_contents: response.outputs.map((t) => Buffer.from(tensorToBytes(t))),
      };
    }),
    ModelStatistics: unary<K.ModelStatisticsRequest, unknown>((r) => ({ model_stats: service.statistics(r.name, r.version) })),
    RepositoryIndex: unary<K.RepositoryIndexRequest, unknown>(async (r) => ({
      models: (await service.index(r.ready === true)).map((e) => ({
        name: e.name,
        version: e.version ?? "",
        state: e.state ?? "",
        reason: e.reason ?? "",
      })),
    })),
    RepositoryModelLoad: unary<K.RepositoryModelLoadRequest, unknown>(async (r) => {
      await service.load(r.model_name);
      return {};
    }),
    RepositoryModelUnload: unary<K.RepositoryModelUnloadRequest, unknown>(async (r) => {
      await service.unload(r.model_name);
      return {};
    }),
  };
  server.addService(loadKServeGrpc().service, implementation);
  return server;
}
