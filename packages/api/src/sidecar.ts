// Loads berthd's SidecarService contract (proto/berth/v1/sidecar.proto) for berthd (the
// server side) and the sidecar (the client side). Connect is one bidirectional stream:
// SidecarReport up, Assignment down.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { Assignment, SidecarReport } from "./sidecar-types.js";

export type * from "./sidecar-types.js";

/** Directory that holds berth/v1/*.proto (imports are relative to it). */
export const BERTH_PROTO_DIR = fileURLToPath(new URL("../proto", import.meta.url));
export const SIDECAR_PROTO = "berth/v1/sidecar.proto";
export const SIDECAR_SERVICE_NAME = "berth.v1.SidecarService";

/** Decoding choices sidecar-types.ts describes; berthd and the sidecar must agree on them. */
export const SIDECAR_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [BERTH_PROTO_DIR],
};

export interface SidecarGrpc {
  readonly service: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
}

let loaded: SidecarGrpc | undefined;

/** The service definition (for grpc.Server.addService) and the client constructor. */
export function loadSidecarGrpc(): SidecarGrpc {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync(SIDECAR_PROTO, SIDECAR_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    berth: { v1: { SidecarService: grpc.ServiceClientConstructor } };
  };
  const Client = pkg.berth.v1.SidecarService;
  loaded = { service: Client.service, Client };
  return loaded;
}

/** The sidecar's end of Connect: it writes reports and reads assignments. */
export type SidecarClientStream = grpc.ClientDuplexStream<SidecarReport, Assignment>;
/** berthd's end of Connect: it reads reports and writes assignments. */
export type SidecarServerStream = grpc.ServerDuplexStream<SidecarReport, Assignment>;

/** Opens a Connect stream to berthd at `address` ("host:port"); the caller closes the client. */
export function openSidecarStream(
  address: string,
  credentials = grpc.credentials.createInsecure(),
): { readonly client: grpc.Client; readonly stream: SidecarClientStream } {
  const { Client } = loadSidecarGrpc();
  const client = new Client(address, credentials) as unknown as grpc.Client & { Connect(): SidecarClientStream };
  return { client, stream: client.Connect() };
}
