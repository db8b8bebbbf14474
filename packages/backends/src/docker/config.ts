// Configuration of the Docker backend, decoded with Schema (InvalidConfig lists every problem).
// Durations are milliseconds.
import { Either, ParseResult, Schema } from "effect";

const PositiveInt = Schema.Int.pipe(Schema.positive());
const withDefault = <A>(value: A) => ({ default: () => value });

/**
 * A server image under a name of its own: the image reference to run and its command line.
 * `{host}`, `{http}`, `{grpc}`, `{metrics}` and `{modelRepository}` in the command are replaced
 * per replica. Without an entry, a spec's image is run as a model server (`serverCommand`).
 */
export const DockerImageSchema = Schema.Struct({
  image: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  command: Schema.Array(Schema.String).pipe(Schema.minItems(1)),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), withDefault({})),
});
export type DockerImage = Schema.Schema.Type<typeof DockerImageSchema>;

export const DockerBackendConfigSchema = Schema.Struct({
  /** The engine's Unix socket (default /var/run/docker.sock), or `tcp` below. */
  socketPath: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), withDefault("/var/run/docker.sock")),
  /** The engine over TCP instead of the socket ("host:port"). */
  tcp: Schema.optional(Schema.String.pipe(Schema.pattern(/^[^\s:]+:\d+$/, { message: () => "tcp must be host:port" }))),
  /**
   * Which Berth installation owns the containers (label berth.dev/backend-instance): a backend
   * adopts and cleans up only its own instance's, so several share one engine safely.
   */
  instance: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/)), withDefault("default")),
  /** Address the servers listen on (host network) and endpoints name. */
  host: Schema.optionalWith(Schema.String, withDefault("127.0.0.1")),
  /** Command line (in the image) of the default server; tritonserver takes the same flags. */
  serverCommand: Schema.optionalWith(Schema.Array(Schema.String).pipe(Schema.minItems(1)), withDefault<readonly string[]>(["berth-model-server"])),
  /** Command line (in the image) of the sidecar. */
  sidecarCommand: Schema.optionalWith(Schema.Array(Schema.String).pipe(Schema.minItems(1)), withDefault<readonly string[]>(["berth-sidecar"])),
  /** Image of the sidecar containers (default: the server's image; Berth's image has both). */
  sidecarImage: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** Named custom servers: a spec whose image is a key here runs that image and command. */
  images: Schema.optionalWith(Schema.Record({ key: Schema.String, value: DockerImageSchema }), withDefault({})),
  /**
   * GPU indices this engine's node has. Absent: asked of nvidia-smi when it is installed, none
   * otherwise. A placement naming a GPU outside the inventory is an InvalidSpec.
   */
  gpus: Schema.optional(Schema.Array(Schema.Int.pipe(Schema.nonNegative()))),
  /** Runtime of containers that get GPUs (`nvidia`, the NVIDIA Container Toolkit's). Absent: the engine's default with device requests. */
  gpuRuntime: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** A replica not ready this long after its container started counts as a failed start. */
  readyTimeoutMs: Schema.optionalWith(PositiveInt, withDefault(120_000)),
  /** How often containers are inspected and probed (reconciliation). */
  pollIntervalMs: Schema.optionalWith(PositiveInt, withDefault(500)),
  /** A pull of a missing image gives up after this long (no registry reachable is the usual case). */
  pullTimeoutMs: Schema.optionalWith(PositiveInt, withDefault(30_000)),
  /** A run that ends sooner than this after its start (or never got ready) is a fast crash... */
  fastCrashWindowMs: Schema.optionalWith(PositiveInt, withDefault(10_000)),
  /** ...and this many in a row mark the replica Failed (no more restarts). */
  maxFastCrashes: Schema.optionalWith(PositiveInt, withDefault(5)),
  /** Seconds between SIGTERM and SIGKILL when a container is stopped. */
  stopGraceSeconds: Schema.optionalWith(PositiveInt, withDefault(5)),
  /**
   * When the backend closes: "leave" the containers running for the next instance to adopt (the
   * default: they outlive berthd), or "stop" and remove them.
   */
  onClose: Schema.optionalWith(Schema.Literal("stop", "leave"), withDefault<"stop" | "leave">("leave")),
  /** Lines of each container's log kept in failure reports. */
  logTailLines: Schema.optionalWith(PositiveInt, withDefault(50)),
});

export type DockerBackendConfig = Schema.Schema.Type<typeof DockerBackendConfigSchema>;
/** What callers write: everything may be left out. */
export type DockerBackendOptions = Schema.Schema.Encoded<typeof DockerBackendConfigSchema>;

export function decodeDockerBackendConfig(input: unknown): Either.Either<DockerBackendConfig, readonly string[]> {
  return Schema.decodeUnknownEither(DockerBackendConfigSchema, { errors: "all", onExcessProperty: "error" })(input ?? {}).pipe(
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)),
    ),
  );
}
