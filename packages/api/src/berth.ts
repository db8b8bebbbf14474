// Loads Berth's public gRPC contract (proto/berth/v1/{lease,pool,admin}.proto) for berthd (the
// server side) and its clients (the CLI, tests), and wraps each service's generated client in
// promise-returning methods; server streams become async iterables.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { LEASE_PHASES, type LeasePhase } from "@berth/core/lease/types";
import { BERTH_PROTO_DIR } from "./sidecar.js";
import type * as T from "./berth-types.js";

export type * from "./berth-types.js";
export { BERTH_PROTO_DIR };
export * from "./berth-status.js";

export const BERTH_PROTO_FILES = ["berth/v1/lease.proto", "berth/v1/pool.proto", "berth/v1/admin.proto"] as const;

/** berthd's default listen address. */
export const DEFAULT_BERTH_ADDRESS = "127.0.0.1:50051";

/** Decoding choices berth-types.ts describes; berthd and its clients must agree on them. */
export const BERTH_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [BERTH_PROTO_DIR],
};

export const BERTH_SERVICES = ["LeaseService", "PoolService", "AllowlistService", "ServerService", "RepositoryService"] as const;
export type BerthServiceName = (typeof BERTH_SERVICES)[number];

export interface BerthServiceGrpc {
  /** For grpc.Server.addService. */
  readonly service: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
  /** Fully qualified, e.g. "berth.v1.LeaseService". */
  readonly name: string;
}

export type BerthGrpc = { readonly [K in BerthServiceName]: BerthServiceGrpc };

let loaded: BerthGrpc | undefined;

/** The service definitions (for grpc.Server.addService) and client constructors of berth.v1. */
export function loadBerthProto(): BerthGrpc {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync([...BERTH_PROTO_FILES], BERTH_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    berth: { v1: Record<BerthServiceName, grpc.ServiceClientConstructor> };
  };
  const entry = (name: BerthServiceName): BerthServiceGrpc => {
    const Client = pkg.berth.v1[name];
    return { service: Client.service, Client, name: `berth.v1.${name}` };
  };
  loaded = {
    LeaseService: entry("LeaseService"),
    PoolService: entry("PoolService"),
    AllowlistService: entry("AllowlistService"),
    ServerService: entry("ServerService"),
    RepositoryService: entry("RepositoryService"),
  };
  return loaded;
}

// ---- server-side handler shapes (what berthd and test peers implement) ----

type Unary<Req, Res> = grpc.handleUnaryCall<Req, T.Input<Res>>;
type ServerStream<Req, Res> = grpc.handleServerStreamingCall<Req, T.Input<Res>>;

export interface LeaseServiceHandlers extends grpc.UntypedServiceImplementation {
  Create: ServerStream<T.CreateLeaseRequest, T.CreateLeaseProgress>;
  Get: Unary<T.GetLeaseRequest, T.Lease>;
  List: Unary<T.ListLeasesRequest, T.ListLeasesResponse>;
  Renew: Unary<T.RenewLeaseRequest, T.Lease>;
  Release: Unary<T.ReleaseLeaseRequest, T.Lease>;
  Watch: ServerStream<T.WatchLeasesRequest, T.LeaseEvent>;
  Explain: Unary<T.ExplainLeaseRequest, T.ExplainLeaseResponse>;
}

export interface PoolServiceHandlers extends grpc.UntypedServiceImplementation {
  Create: Unary<T.CreatePoolRequest, T.Pool>;
  Get: Unary<T.GetPoolRequest, T.Pool>;
  List: Unary<T.ListPoolsRequest, T.ListPoolsResponse>;
  Delete: Unary<T.DeletePoolRequest, T.Pool>;
  Status: Unary<T.GetPoolRequest, T.PoolStatus>;
}

export interface AllowlistServiceHandlers extends grpc.UntypedServiceImplementation {
  Append: Unary<T.AllowlistRequest, T.Allowlist>;
  List: Unary<T.ListAllowlistRequest, T.Allowlist>;
  Remove: Unary<T.AllowlistRequest, T.Allowlist>;
}

export interface ServerServiceHandlers extends grpc.UntypedServiceImplementation {
  List: Unary<T.ListServersRequest, T.ListServersResponse>;
  Get: Unary<T.GetServerRequest, T.Server>;
}

export interface RepositoryServiceHandlers extends grpc.UntypedServiceImplementation {
  ListModels: Unary<T.ListModelsRequest, T.ListModelsResponse>;
}

// ---- typed promise clients ----

type In<X> = T.Input<X>;

/** The metadata key berthd reads a call's idempotency key from (LeaseService.Create). */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/** Per-call settings, on top of the client's own (its bearer token). */
export interface CallOptions {
  /** Extra metadata sent with this call only (keys lower-case ASCII, as gRPC requires). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Sent as `idempotency-key`: berthd stores a Create with a key it has seen (same tenant) once,
   * and answers the retry with the lease the first call made.
   */
  readonly idempotencyKey?: string;
}

export interface StreamOptions extends CallOptions {
  /** Aborting cancels the call; the iteration then fails with CANCELLED. */
  readonly signal?: AbortSignal;
}

export interface ListAllOptions extends CallOptions {
  /** Leases per page (default 500; berthd caps it at 1000). */
  readonly pageSize?: number;
}

/** listAll's page size when the caller gives none: well under gRPC's 4 MB default with full views. */
export const DEFAULT_LIST_PAGE_SIZE = 500;

export interface LeaseClient {
  /** Streams progress; without `wait` berthd sends one message (the accepted lease) and ends. */
  create(request: In<T.CreateLeaseRequest>, options?: StreamOptions): AsyncIterable<T.CreateLeaseProgress>;
  get(request: In<T.GetLeaseRequest>, options?: CallOptions): Promise<T.Lease>;
  list(request?: In<T.ListLeasesRequest>, options?: CallOptions): Promise<T.ListLeasesResponse>;
  /**
   * Every matching lease, fetched page by page (List with pageSize and pageToken) so no response
   * grows past gRPC's message limit; in List's order. `request.pageToken` is ignored.
   */
  listAll(request?: In<T.ListLeasesRequest>, options?: ListAllOptions): Promise<T.Lease[]>;
  renew(request: In<T.RenewLeaseRequest>, options?: CallOptions): Promise<T.Lease>;
  release(request: In<T.ReleaseLeaseRequest>, options?: CallOptions): Promise<T.Lease>;
  watch(request?: In<T.WatchLeasesRequest>, options?: StreamOptions): AsyncIterable<T.LeaseEvent>;
  explain(request: In<T.ExplainLeaseRequest>, options?: CallOptions): Promise<T.ExplainLeaseResponse>;
}

export interface PoolClient {
  create(request: In<T.CreatePoolRequest>, options?: CallOptions): Promise<T.Pool>;
  get(request: In<T.GetPoolRequest>, options?: CallOptions): Promise<T.Pool>;
  list(request?: In<T.ListPoolsRequest>, options?: CallOptions): Promise<T.ListPoolsResponse>;
  delete(request: In<T.DeletePoolRequest>, options?: CallOptions): Promise<T.Pool>;
  status(request: In<T.GetPoolRequest>, options?: CallOptions): Promise<T.PoolStatus>;
}

export interface AllowlistClient {
  append(request: In<T.AllowlistRequest>, options?: CallOptions): Promise<T.Allowlist>;
  list(request?: In<T.ListAllowlistRequest>, options?: CallOptions): Promise<T.Allowlist>;
  remove(request: In<T.AllowlistRequest>, options?: CallOptions): Promise<T.Allowlist>;
}

export interface ServerClient {
  list(request?: In<T.ListServersRequest>, options?: CallOptions): Promise<T.ListServersResponse>;
  get(request: In<T.GetServerRequest>, options?: CallOptions): Promise<T.Server>;
}

export interface RepositoryClient {
  listModels(request?: In<T.ListModelsRequest>, options?: CallOptions): Promise<T.ListModelsResponse>;
}

export interface BerthClient {
  readonly address: string;
  readonly lease: LeaseClient;
  readonly pool: PoolClient;
  readonly allowlist: AllowlistClient;
  readonly server: ServerClient;
  readonly repository: RepositoryClient;
  close(): void;
}

/** PEM contents (not paths) for a TLS channel; `ca` alone verifies the server, `cert`+`key` add a client certificate. */
export interface BerthTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface BerthClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
  /** true: TLS with the system's roots; an object: TLS with these PEMs; absent/false: plaintext. */
  readonly tls?: boolean | BerthTls;
  /** Deadline for each unary call, in milliseconds (streams have none: `--wait` may take long). */
  readonly callTimeoutMs?: number;
}

export function berthCredentials(tls: BerthClientOptions["tls"]): grpc.ChannelCredentials {
  if (tls === undefined || tls === false) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;
type StreamMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/** Iterate a server stream; leaving the loop early cancels the call. Errors arrive as grpc.ServiceError. */
async function* iterate<Res>(call: grpc.ClientReadableStream<unknown>, signal: AbortSignal | undefined): AsyncGenerator<Res> {
  const cancel = (): void => call.cancel();
  if (signal?.aborted === true) cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for await (const message of call) yield message as Res;
  } finally {
    signal?.removeEventListener("abort", cancel);
    call.cancel();
  }
}

/** Connects (lazily) to berthd at `address` ("host:port"); close() when done. */
export function createBerthClient(address: string, options: BerthClientOptions = {}): BerthClient {
  const grpcs = loadBerthProto();
  const credentials = berthCredentials(options.tls);
  // One channel for all five services.
  const first = new grpcs.LeaseService.Client(address, credentials);
  const channel = first.getChannel();
  const services = Object.fromEntries(
    BERTH_SERVICES.map((name) => [name, name === "LeaseService" ? first : new grpcs[name].Client(address, credentials, { channelOverride: channel })]),
  ) as unknown as Record<BerthServiceName, Record<string, UnaryMethod | StreamMethod>>;

  const metadata = (call: CallOptions = {}): grpc.Metadata => {
    const m = new grpc.Metadata();
    for (const [key, value] of Object.entries(call.metadata ?? {})) m.set(key, value);
    if (call.idempotencyKey !== undefined && call.idempotencyKey !== "") m.set(IDEMPOTENCY_KEY_HEADER, call.idempotencyKey);
    // The client's token wins over a per-call `authorization`: a call cannot act as someone else by accident.
    if (options.token !== undefined && options.token !== "") m.set("authorization", `Bearer ${options.token}`);
    return m;
  };
  const unary = <Res>(service: BerthServiceName, method: string) => (request: unknown = {}, call: CallOptions = {}): Promise<Res> =>
    new Promise((resolve, reject) => {
      const callOptions: grpc.CallOptions =
        options.callTimeoutMs === undefined ? {} : { deadline: Date.now() + options.callTimeoutMs };
      const rpc = services[service][method] as UnaryMethod;
      rpc.call(services[service], request, metadata(call), callOptions, (error, response) =>
        error ? reject(error) : resolve(response as Res));
    });
  const stream = <Res>(service: BerthServiceName, method: string) => (request: unknown = {}, streamOptions: StreamOptions = {}): AsyncIterable<Res> =>
    iterate<Res>((services[service][method] as StreamMethod).call(services[service], request, metadata(streamOptions), {}), streamOptions.signal);

  const listLeases = unary<T.ListLeasesResponse>("LeaseService", "List");
  const listAll = async (request: In<T.ListLeasesRequest> = {}, { pageSize = DEFAULT_LIST_PAGE_SIZE, ...call }: ListAllOptions = {}): Promise<T.Lease[]> => {
    const leases: T.Lease[] = [];
    let pageToken = "";
    do {
      const page = await listLeases({ ...request, pageSize, pageToken }, call);
      leases.push(...page.leases);
      // A berthd without paging answers everything with no token: one round.
      const next = page.nextPageToken ?? "";
      if (next !== "" && next === pageToken) throw new Error(`berthd at ${address} answered List with the same page token twice`);
      pageToken = next;
    } while (pageToken !== "");
    return leases;
  };

  return {
    address,
    lease: {
      create: stream("LeaseService", "Create"),
      get: unary("LeaseService", "Get"),
      list: listLeases,
      listAll,
      renew: unary("LeaseService", "Renew"),
      release: unary("LeaseService", "Release"),
      watch: stream("LeaseService", "Watch"),
      explain: unary("LeaseService", "Explain"),
    },
    pool: {
      create: unary("PoolService", "Create"),
      get: unary("PoolService", "Get"),
      list: unary("PoolService", "List"),
      delete: unary("PoolService", "Delete"),
      status: unary("PoolService", "Status"),
    },
    allowlist: {
      append: unary("AllowlistService", "Append"),
      list: unary("AllowlistService", "List"),
      remove: unary("AllowlistService", "Remove"),
    },
    server: {
      list: unary("ServerService", "List"),
      get: unary("ServerService", "Get"),
    },
    repository: {
      listModels: unary("RepositoryService", "ListModels"),
    },
    close: () => first.close(),
  };
}

// ---- conversions between the wire forms and Berth's words ----

const PHASE_PREFIX = "LEASE_PHASE_";

/** "LEASE_PHASE_READY" -> "Ready"; UNSPECIFIED (or anything unknown) -> undefined. */
export function leasePhaseWord(name: string): LeasePhase | undefined {
  if (!name.startsWith(PHASE_PREFIX) || name === "LEASE_PHASE_UNSPECIFIED") return undefined;
  const rest = name.slice(PHASE_PREFIX.length).toLowerCase();
  const word = rest.charAt(0).toUpperCase() + rest.slice(1);
  return (LEASE_PHASES as readonly string[]).includes(word) ? (word as LeasePhase) : undefined;
}

/** "Ready" -> "LEASE_PHASE_READY". */
export function leasePhaseName(phase: LeasePhase): T.LeasePhaseName {
  return `${PHASE_PREFIX}${phase.toUpperCase()}` as T.LeasePhaseName;
}

export function timestampToMs(ts: T.Timestamp | null | undefined): number | undefined {
  if (ts === null || ts === undefined) return undefined;
  return ts.seconds * 1000 + Math.floor(ts.nanos / 1e6);
}

export function msToTimestamp(ms: number): T.Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

export const msToDuration: (ms: number) => T.Duration = msToTimestamp;
export const durationToMs: (d: T.Duration | null | undefined) => number | undefined = timestampToMs;
