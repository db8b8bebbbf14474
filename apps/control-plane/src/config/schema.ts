import { Schema } from "effect";
import { BytesFromQuantity, DnsLabel, DurationFromString, MilliCpuFromQuantity } from "@berth/core";

// berthd's configuration file, as effect Schemas: the encoded side is what operators write
// in YAML (sizes as `24Gi`, durations as `30m`), the decoded side is what berthd uses.
// Every field has a default (see defaults.ts), so an empty file (or no file) is valid.
// Unknown keys are errors (the loader decodes with onExcessProperty: "error").

const HostPort = Schema.String.pipe(
  Schema.filter((s) => /^[^\s:]*:\d{1,5}$/.test(s) || `expected host:port (127.0.0.1:50051), not "${s}"`),
);

export const GpuConfig = Schema.Struct({
  /** GPU model as placement filters name it (`A10`, `H100`). */
  model: Schema.optionalWith(Schema.String, { default: () => "cpu" }),
  memory: BytesFromQuantity,
});
export type GpuConfig = typeof GpuConfig.Type;

export const NodeConfig = Schema.Struct({
  name: DnsLabel,
  cpu: Schema.optionalWith(MilliCpuFromQuantity, { default: () => 8000 }),
  memory: Schema.optionalWith(BytesFromQuantity, { default: () => 16 * 1024 ** 3 }),
  /**
   * `auto`: ask nvidia-smi, and without GPUs offer one pretend GPU of `cpuGpuMemory` (so that
   * placement works on a laptop: the models run on the CPU, the budget caps what is loaded).
   */
  gpus: Schema.optionalWith(Schema.Union(Schema.Literal("auto"), Schema.Array(GpuConfig)), { default: () => "auto" as const }),
  cpuGpuMemory: Schema.optionalWith(BytesFromQuantity, { default: () => 8 * 1024 ** 3 }),
  labels: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
});
export type NodeConfig = typeof NodeConfig.Type;

export const RepositoryConfig = Schema.Union(
  Schema.Struct({ dir: Schema.String }),
  Schema.Struct({
    url: Schema.String.pipe(Schema.filter((s) => /^https?:\/\//.test(s) || `expected an http:// or https:// URL, not "${s}"`)),
    /** A header line sent with every request (`Authorization: Bearer ...`); or name an env variable. */
    authHeader: Schema.optional(Schema.String),
    authHeaderEnv: Schema.optional(Schema.String),
  }),
);
export type RepositoryConfig = typeof RepositoryConfig.Type;

export const StoreConfig = Schema.Struct({
  kind: Schema.optionalWith(Schema.Literal("sqlite", "postgres", "memory"), { default: () => "sqlite" as const }),
  /** SQLite file; default `<stateDir>/berth.db`. */
  path: Schema.optional(Schema.String),
  /** PostgreSQL connection string (kind: postgres). */
  url: Schema.optional(Schema.String),
  /** PostgreSQL schema that holds Berth's tables (default `public`); two Berths may share a database with two schemas. */
  schema: Schema.optional(Schema.String.pipe(Schema.pattern(/^[a-z_][a-z0-9_]*$/))),
  /** This replica's name among several berthd on one PostgreSQL (default host:pid). */
  replica: Schema.optional(Schema.String),
  /** A snapshot is saved after this many events (restart replays at most that many). */
  snapshotEvery: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 200 }),
  /**
   * PostgreSQL: what a leader does once it has lost the lead (its lock connection dropped, or
   * another replica took over). Either way it has stopped acting at once. `standby`: close the
   * API and wait to lead again in the same process; `exit`: exit with status 75 for a
   * supervisor to restart it.
   */
  onLeadershipLost: Schema.optionalWith(Schema.Literal("standby", "exit"), { default: () => "standby" as const }),
});
export type StoreConfig = typeof StoreConfig.Type;

export const SimBackendConfig = Schema.Struct({
  /** How long a simulated server takes to come up. */
  startup: Schema.optionalWith(DurationFromString, { default: () => 200 }),
  /** How long its simulated sidecar takes to load a lease's models. */
  load: Schema.optionalWith(DurationFromString, { default: () => 100 }),
  /** Models whose name contains this fail to load (to exercise failures end to end). */
  failModelsMatching: Schema.optional(Schema.String),
});

export const BACKEND_KINDS = ["process", "sim", "docker", "kubernetes"] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

const PluginOptions = Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { default: () => ({}) });

export const BackendConfig = Schema.Struct({
  kind: Schema.optionalWith(Schema.Literal(...BACKEND_KINDS), { default: () => "process" as const }),
  sim: Schema.optionalWith(SimBackendConfig, { default: () => ({ startup: 200, load: 100 }) }),
  /** Options of each plugin backend, handed to it as they are (packages/backends decodes them; the loader reports their problems under this key). */
  process: PluginOptions,
  docker: PluginOptions,
  kubernetes: PluginOptions,
});
export type BackendConfig = typeof BackendConfig.Type;

export const ImagesConfig = Schema.Struct({
  /**
   * Image for leases that name none. Default: `berth-model-server` (Berth's model server as a
   * local process) on the process and sim backends, `localhost/berth:dev` (`npm run image:local`)
   * on docker and kubernetes.
   */
  default: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** Images leases may use (exact names or `prefix*`); the default image is always allowed. */
  allowlist: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
});

export const LeasesConfig = Schema.Struct({
  defaultMinDuration: Schema.optional(DurationFromString),
  /** Longest minDuration a lease may ask for. */
  maxMinDuration: Schema.optional(DurationFromString),
  /** Longest a Create with wait may wait. */
  maxWait: Schema.optionalWith(DurationFromString, { default: () => 10 * 60_000 }),
});

export const TokenConfig = Schema.Struct({
  /** The bearer token itself, or the environment variable holding it. */
  token: Schema.optional(Schema.String),
  tokenEnv: Schema.optional(Schema.String),
  tenant: DnsLabel,
  admin: Schema.optionalWith(Schema.Boolean, { default: () => false }),
});
export type TokenConfig = typeof TokenConfig.Type;

export const TenantConfig = Schema.Struct({
  /** GPU memory the tenant's live leases may take in all (per replica, summed). */
  gpuMemoryQuota: Schema.optional(BytesFromQuantity),
});

export const AuthConfig = Schema.Struct({
  /** No tokens: every caller is tenant `default` with the admin role. */
  tokens: Schema.optionalWith(Schema.Array(TokenConfig), { default: () => [] }),
  /**
   * The secret berthd mints each server's sidecar token from (HMAC of the server id), or the
   * environment variable holding it. Set, sidecars authenticate (their backend hands them the
   * token in the environment) and SidecarService moves onto the API's listener, TLS included.
   * Replicas of one Berth (PostgreSQL) must share it. Unset: sidecars carry nothing, and with
   * auth or TLS on they are kept to a plaintext loopback listener (sidecarListen).
   */
  sidecarSecret: Schema.optional(Schema.String.pipe(Schema.minLength(16, { message: () => "a sidecar secret has at least 16 characters" }))),
  sidecarSecretEnv: Schema.optional(Schema.String),
  tenants: Schema.optionalWith(Schema.Record({ key: DnsLabel, value: TenantConfig }), { default: () => ({}) }),
});

export const TlsConfig = Schema.Struct({
  cert: Schema.String,
  key: Schema.String,
  /** Client CA: when set, clients must present a certificate it signed (mTLS). */
  clientCa: Schema.optional(Schema.String),
  /**
   * The CA sidecars verify berthd's certificate with (default: `cert` itself, for a self-signed
   * one). Used with auth.sidecarSecret: sidecars then dial berthd over TLS.
   */
  sidecarCa: Schema.optional(Schema.String),
  /** The name sidecars expect in berthd's certificate when the address they dial is not in it. */
  sidecarServerName: Schema.optional(Schema.String),
});

export const PlacementConfig = Schema.Struct({
  policy: Schema.optionalWith(Schema.String, { default: () => "berth" }),
  serverPolicy: Schema.optionalWith(Schema.String, { default: () => "most-allocated" }),
  evictionPolicy: Schema.optionalWith(Schema.String, { default: () => "cost-aware" }),
  keepAlivePolicy: Schema.optionalWith(Schema.String, { default: () => "until-needed" }),
  keepWarm: Schema.optionalWith(Schema.Boolean, { default: () => true }),
});

export const AutoscalerConfig = Schema.Struct({
  /** How often the autoscalers run (Kubernetes HPA's sync period is 15 s). */
  syncPeriod: Schema.optionalWith(DurationFromString, { default: () => 15_000 }),
  /**
   * The `hpa` policy's stabilization windows (HPA `behavior.scaleUp/scaleDown.stabilizationWindowSeconds`):
   * it scales to the lowest (up) or highest (down) recommendation of that window. Default Kubernetes': 0 and 5m.
   */
  scaleUpStabilization: Schema.optional(DurationFromString),
  scaleDownStabilization: Schema.optional(DurationFromString),
});

export const ConfigFile = Schema.Struct({
  listen: Schema.optionalWith(HostPort, { default: () => "127.0.0.1:50051" }),
  http: Schema.optionalWith(HostPort, { default: () => "127.0.0.1:9400" }),
  /**
   * A separate listener for the sidecars' SidecarService. Default: the API's own listener,
   * except with TLS or auth on and no auth.sidecarSecret, where it is a plaintext 127.0.0.1
   * listener on a free port (sidecars without a token are kept to the loopback). With
   * auth.sidecarSecret and mTLS it defaults to the API's host on a free port, with TLS but no
   * client certificates (sidecars prove themselves with their token).
   */
  sidecarListen: Schema.optional(HostPort),
  stateDir: Schema.optionalWith(Schema.String, { default: () => ".berth" }),
  store: Schema.optionalWith(StoreConfig, { default: () => StoreConfig.make({ kind: "sqlite", snapshotEvery: 200, onLeadershipLost: "standby" }) }),
  backend: Schema.optionalWith(BackendConfig, { default: () => ({ kind: "process" as const, sim: { startup: 200, load: 100 }, process: {}, docker: {}, kubernetes: {} }) }),
  /** Nodes the process and sim backends place on; default one local node with `gpus: auto`. */
  nodes: Schema.optional(Schema.Array(NodeConfig)),
  /** name -> location; default `demo`, generated under `<stateDir>/repositories/demo`. */
  repositories: Schema.optional(Schema.Record({ key: Schema.String, value: RepositoryConfig })),
  /** Repository of model references that name none; default the first repository. */
  defaultRepository: Schema.optional(Schema.String),
  images: Schema.optionalWith(ImagesConfig, { default: () => ({ allowlist: [] }) }),
  leases: Schema.optionalWith(LeasesConfig, { default: () => ({ maxWait: 10 * 60_000 }) }),
  auth: Schema.optionalWith(AuthConfig, { default: () => ({ tokens: [], tenants: {} }) }),
  tls: Schema.optional(TlsConfig),
  autoscaler: Schema.optionalWith(AutoscalerConfig, { default: () => ({ syncPeriod: 15_000 }) }),
  placement: Schema.optionalWith(PlacementConfig, {
    default: () => ({ policy: "berth", serverPolicy: "most-allocated", evictionPolicy: "cost-aware", keepAlivePolicy: "until-needed", keepWarm: true }),
  }),
});
/** The configuration after decoding (sizes in bytes, durations in ms). */
export type ConfigFile = typeof ConfigFile.Type;
/** The configuration as written in YAML. */
export type ConfigFileInput = typeof ConfigFile.Encoded;
