// What a backend is asked to run: one server, a group of identical replicas. The Schema is
// the contract's single source: it gives the type, validates specs (InvalidSpec lists every
// problem at once) and decodes the process backend's state file.
import { Either, ParseResult, Schema } from "effect";
import type { Resources } from "@berth/core/spec/types";

/**
 * Server ids become Kubernetes object names, Docker container names and directory names, so
 * they follow the strictest of the three: a DNS-1123 label.
 */
export const SERVER_ID_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const SERVER_ID_MAX_LENGTH = 63;
/** Label keys as Kubernetes and Docker both accept them: optional DNS prefix, then a name. */
export const LABEL_KEY_PATTERN = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE_PATTERN = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative());
const NonNegative = Schema.Number.pipe(Schema.nonNegative());

export const ServerId = Schema.String.pipe(
  Schema.maxLength(SERVER_ID_MAX_LENGTH, { message: () => `server id is longer than ${SERVER_ID_MAX_LENGTH} characters` }),
  Schema.pattern(SERVER_ID_PATTERN, { message: () => "server id must be lower-case letters, digits and '-', starting and ending with a letter or digit" }),
);

/** Resources of one replica, in the core's decoded units (bytes, milli-CPU, milli-GPU). */
export const ResourcesSchema = Schema.Struct({
  gpuMemory: NonNegative,
  gpus: NonNegativeInt,
  gpuMilli: NonNegative,
  cpu: NonNegative,
  memory: NonNegative,
  gpuModels: Schema.Array(Schema.String),
});
// The schema must keep describing the core's type (a compile error here means they drifted).
const _resourcesMatchCore: Resources = {} as Schema.Schema.Type<typeof ResourcesSchema>;

const GpuIndices = Schema.Array(NonNegativeInt).pipe(
  Schema.filter((gpus) => new Set(gpus).size === gpus.length || "GPU indices must be distinct"),
);

/** Where one replica runs: a node, and the exact GPU indices it may use there. */
export const ReplicaPlacementSchema = Schema.Struct({ node: Schema.String.pipe(Schema.minLength(1)), gpus: GpuIndices });
export type ReplicaPlacement = Schema.Schema.Type<typeof ReplicaPlacementSchema>;

/** A model repository the sidecar pulls from: a directory or an HTTP(S)/S3 URL. */
export const SidecarRepositorySchema = Schema.Struct({ name: Schema.String.pipe(Schema.minLength(1)), location: Schema.String.pipe(Schema.minLength(1)) });

/** What the sidecar beside each replica needs: where berthd is, the repositories, the model cache. */
export const SidecarSettingsSchema = Schema.Struct({
  /** berthd's gRPC address as seen from the replica, "host:port". */
  berthd: Schema.String.pipe(Schema.pattern(/^[^\s:]+:\d+$/, { message: () => "berthd must be host:port" })),
  repositories: Schema.Array(SidecarRepositorySchema).pipe(
    Schema.minItems(1, { message: () => "the sidecar needs at least one repository" }),
    Schema.filter((rs) => new Set(rs.map((r) => r.name)).size === rs.length || "repository names must be distinct"),
  ),
  /** Model cache on the node (a host path; container backends mount it). */
  cache: Schema.String.pipe(Schema.minLength(1)),
  /**
   * The bearer token the sidecar presents to berthd (minted for this server). A secret: backends
   * hand it over in the environment (see sidecarEnvironment), never on a command line.
   */
  token: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** PEM of the CA that signed berthd's certificate: present, the sidecar dials berthd over TLS. */
  berthdCa: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** The name the sidecar expects in berthd's certificate, when the address it dials is not in it. */
  berthdServerName: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
});
export type SidecarSettings = Schema.Schema.Type<typeof SidecarSettingsSchema>;

/** The environment variables berth-sidecar reads its credentials from. */
export const SIDECAR_ENV = {
  token: "BERTH_SIDECAR_TOKEN",
  berthdCaPem: "BERTH_SIDECAR_BERTHD_CA_PEM",
  berthdServerName: "BERTH_SIDECAR_BERTHD_SERVER_NAME",
} as const;

/**
 * What every backend adds to the sidecar's environment (process: the child's env; Docker: the
 * container's Env; Kubernetes: the sidecar container's env, the token better from a Secret).
 */
export function sidecarEnvironment(settings: SidecarSettings): Record<string, string> {
  return {
    ...(settings.token !== undefined ? { [SIDECAR_ENV.token]: settings.token } : {}),
    ...(settings.berthdCa !== undefined ? { [SIDECAR_ENV.berthdCaPem]: settings.berthdCa } : {}),
    ...(settings.berthdServerName !== undefined ? { [SIDECAR_ENV.berthdServerName]: settings.berthdServerName } : {}),
  };
}

const Labels = Schema.Record({ key: Schema.String, value: Schema.String }).pipe(
  Schema.filter((labels) => {
    const bad = Object.entries(labels).flatMap(([k, v]) => [
      ...(LABEL_KEY_PATTERN.test(k) ? [] : [`label key '${k}' is not a valid label key`]),
      ...(LABEL_VALUE_PATTERN.test(v) ? [] : [`label '${k}' has an invalid value '${v}'`]),
    ]);
    return bad.length === 0 || bad.join("; ");
  }),
);

export const ServerSpecSchema = Schema.Struct({
  serverId: ServerId,
  /** Server image: an OCI reference for Docker and Kubernetes; the process backend maps names to commands. */
  image: Schema.String,
  /** Group (framework family) of the models it hosts; recorded as a label, used by nothing else here. */
  group: Schema.String,
  /** Node and GPU indices of replicas without an entry in `placements`. */
  node: Schema.String.pipe(Schema.minLength(1, { message: () => "node must not be empty" })),
  gpus: GpuIndices,
  /** Per-replica placement by replica index; replicas past its end use `node` and `gpus`. */
  placements: Schema.optional(Schema.Array(ReplicaPlacementSchema)),
  resources: ResourcesSchema,
  replicas: NonNegativeInt,
  /** Ownership marks; backends add their own (`berth.dev/server-id`, `berth.dev/managed-by`). */
  labels: Labels,
  /** Without it the replicas run no sidecar (tests, servers managed by hand). */
  sidecar: Schema.optional(SidecarSettingsSchema),
});
export type ServerSpec = Schema.Schema.Type<typeof ServerSpecSchema>;

/** Label keys every backend sets on what it creates, so a restarted control plane recognises its own. */
export const LABEL_MANAGED_BY = "berth.dev/managed-by";
export const LABEL_SERVER_ID = "berth.dev/server-id";
export const LABEL_REPLICA = "berth.dev/replica";
export const LABEL_GROUP = "berth.dev/group";

/** The placement of replica `index`: its own entry, or the server's node and GPUs. */
export function placementOf(spec: ServerSpec, index: number): ReplicaPlacement {
  return spec.placements?.[index] ?? { node: spec.node, gpus: spec.gpus };
}

/** Every problem with `input` as a ServerSpec ("path: message"), or the decoded spec. */
export function validateServerSpec(input: unknown): Either.Either<ServerSpec, readonly string[]> {
  return Schema.decodeUnknownEither(ServerSpecSchema, { errors: "all", onExcessProperty: "ignore" })(input).pipe(
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)),
    ),
  );
}

/** Replica ids are `<serverId>-<index>`: ordinals, so scaling down removes the highest. */
export function replicaId(serverId: string, index: number): string {
  return `${serverId}-${index}`;
}
