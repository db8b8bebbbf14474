// Configuration of the local-process backend, decoded with Schema (InvalidConfig lists every
// problem). Durations are milliseconds.
import { Either, ParseResult, Schema } from "effect";

const PositiveInt = Schema.Int.pipe(Schema.positive());
const withDefault = <A>(value: A) => ({ default: () => value });

export const ProcessImageSchema = Schema.Struct({
  /**
   * Command line of a custom server: executable then arguments. `{host}`, `{http}`, `{grpc}`,
   * `{metrics}` and `{modelRepository}` in arguments are replaced per replica.
   */
  command: Schema.Array(Schema.String).pipe(Schema.minItems(1)),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), withDefault({})),
});
export type ProcessImage = Schema.Schema.Type<typeof ProcessImageSchema>;

export const ProcessBackendConfigSchema = Schema.Struct({
  /** Where the backend keeps its state file, replica directories and logs. */
  stateDir: Schema.String.pipe(Schema.minLength(1)),
  /** Address the servers listen on and endpoints name. */
  host: Schema.optionalWith(Schema.String, withDefault("127.0.0.1")),
  /** `tritonserver` (looked up on PATH) or a path: used instead of the model server when found. */
  tritonserver: Schema.optional(Schema.String),
  /** Command prefix that starts berth-model-server (default: node + its pre-built bundle, or tsx until it is built; see runtime.ts). */
  modelServer: Schema.optional(Schema.Array(Schema.String).pipe(Schema.minItems(1))),
  /** Command prefix that starts berth-sidecar (default: node + its pre-built bundle, or tsx until it is built). */
  sidecar: Schema.optional(Schema.Array(Schema.String).pipe(Schema.minItems(1))),
  /** How often each sidecar reports activity and load (its `--activity-interval-ms`); absent: the sidecar's default (10 s). */
  sidecarActivityIntervalMs: Schema.optional(PositiveInt),
  /** Named custom servers: a spec whose image is a key here runs that command. */
  images: Schema.optionalWith(Schema.Record({ key: Schema.String, value: ProcessImageSchema }), withDefault({})),
  /** A replica not ready this long after it started counts as a failed start. */
  readyTimeoutMs: Schema.optionalWith(PositiveInt, withDefault(120_000)),
  probeIntervalMs: Schema.optionalWith(PositiveInt, withDefault(200)),
  /** Restart backoff: exponential from base, capped. */
  restartBaseMs: Schema.optionalWith(PositiveInt, withDefault(200)),
  restartCapMs: Schema.optionalWith(PositiveInt, withDefault(10_000)),
  /** A run that ends sooner than this after its start (or never got ready) is a fast crash... */
  fastCrashWindowMs: Schema.optionalWith(PositiveInt, withDefault(10_000)),
  /** ...and this many in a row mark the replica Failed (no more restarts). */
  maxFastCrashes: Schema.optionalWith(PositiveInt, withDefault(5)),
  /** SIGTERM, then SIGKILL after this long. */
  stopGraceMs: Schema.optionalWith(PositiveInt, withDefault(5_000)),
  /**
   * When the backend closes: "stop" its servers (a clean berthd shutdown), or "leave" them
   * running for the next instance on the same stateDir to adopt (an upgrade, a handover).
   */
  onClose: Schema.optionalWith(Schema.Literal("stop", "leave"), withDefault<"stop" | "leave">("stop")),
  /** Bytes of each log kept in failure reports. */
  logTailBytes: Schema.optionalWith(PositiveInt, withDefault(4096)),
});

export type ProcessBackendConfig = Schema.Schema.Type<typeof ProcessBackendConfigSchema>;
/** What callers write: everything but stateDir may be left out. */
export type ProcessBackendOptions = Schema.Schema.Encoded<typeof ProcessBackendConfigSchema>;

export function decodeProcessBackendConfig(input: unknown): Either.Either<ProcessBackendConfig, readonly string[]> {
  return Schema.decodeUnknownEither(ProcessBackendConfigSchema, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)),
    ),
  );
}
