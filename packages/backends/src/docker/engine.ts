// The Docker Engine API, wrapped once: dockerode's calls as Effects with one tagged error, and
// only the fields the backend uses, decoded with Schema. Raw dockerode objects stay in here.
import Docker from "dockerode";
import { Data, Duration, Effect, Schedule, Schema } from "effect";
import type { DockerBackendConfig } from "./config.js";

export class EngineError extends Data.TaggedError("EngineError")<{
  /** The engine's HTTP status, when it answered; absent when it could not be reached. */
  readonly statusCode?: number;
  readonly message: string;
}> {}

/** The engine did not answer at all (socket missing, connection refused, timeout). */
export const unreachable = (e: EngineError): boolean => e.statusCode === undefined;

/**
 * Retries of engine calls that found no engine: five tries 200 ms apart, then the caller's
 * error stands (Unavailable), so a dead socket is reported in about a second, not a hang.
 */
export const engineRetrySchedule = Schedule.spaced(Duration.millis(200)).pipe(Schedule.intersect(Schedule.recurs(4)));

function toEngineError(e: unknown): EngineError {
  const err = e as { statusCode?: unknown; json?: { message?: unknown }; message?: unknown; code?: unknown };
  const statusCode = typeof err.statusCode === "number" ? err.statusCode : undefined;
  const detail = typeof err.json?.message === "string" ? err.json.message : typeof err.message === "string" ? err.message : String(e);
  return new EngineError({ ...(statusCode !== undefined ? { statusCode } : {}), message: typeof err.code === "string" && !detail.includes(err.code) ? `${err.code}: ${detail}` : detail });
}

const call = <A>(f: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, EngineError> => Effect.tryPromise({ try: f, catch: toEngineError });

/** What the backend reads of a container. */
export const ContainerInfoSchema = Schema.Struct({
  Id: Schema.String,
  Name: Schema.String,
  State: Schema.Struct({
    Status: Schema.String,
    Running: Schema.Boolean,
    ExitCode: Schema.Number,
    StartedAt: Schema.String,
    FinishedAt: Schema.String,
    OOMKilled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
    Error: Schema.optionalWith(Schema.String, { default: () => "" }),
  }),
  RestartCount: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  Config: Schema.Struct({ Labels: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String })) }),
});
export type ContainerInfo = Schema.Schema.Type<typeof ContainerInfoSchema>;

export const ContainerSummarySchema = Schema.Struct({
  Id: Schema.String,
  Names: Schema.Array(Schema.String),
  Labels: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String })),
});
export type ContainerSummary = Schema.Schema.Type<typeof ContainerSummarySchema>;

const decode =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (value: unknown): Effect.Effect<A, EngineError> =>
    Schema.decodeUnknown(schema, { onExcessProperty: "ignore" })(value).pipe(Effect.mapError((e) => new EngineError({ statusCode: 500, message: `unexpected engine answer: ${e.message}` })));

/**
 * Docker's log stream without a TTY: frames of an 8-byte header (stream, 0, 0, 0, length as
 * big-endian uint32) and the payload. Anything that is not framed is returned as it is.
 */
export function demuxLogs(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buffer.length) {
    const stream = buffer[at];
    if (stream > 2 || buffer[at + 1] !== 0 || buffer[at + 2] !== 0 || buffer[at + 3] !== 0) return buffer.toString("utf8");
    const length = buffer.readUInt32BE(at + 4);
    parts.push(buffer.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return Buffer.concat(parts).toString("utf8");
}

export interface Engine {
  /** The dockerode client, for tests that look at what the backend created. */
  readonly docker: Docker;
  readonly ping: Effect.Effect<void, EngineError>;
  /** CPUs the engine's host has (the engine refuses CPU limits above it). */
  readonly cpus: Effect.Effect<number, EngineError>;
  readonly imageExists: (image: string) => Effect.Effect<boolean, EngineError>;
  /** Pulls `image`, failing after `timeoutMs` (an unreachable registry can hang for minutes). */
  readonly pull: (image: string, timeoutMs: number) => Effect.Effect<void, EngineError>;
  /** Containers (running or not) with every one of these labels. */
  readonly list: (labels: Readonly<Record<string, string>>) => Effect.Effect<readonly ContainerSummary[], EngineError>;
  /** A container's state; undefined when it does not exist. */
  readonly inspect: (id: string) => Effect.Effect<ContainerInfo | undefined, EngineError>;
  readonly create: (options: Docker.ContainerCreateOptions) => Effect.Effect<string, EngineError>;
  readonly start: (id: string) => Effect.Effect<void, EngineError>;
  /** Stops the container (SIGTERM, then SIGKILL after the grace); a stopped or missing one is fine. */
  readonly stop: (id: string, graceSeconds: number) => Effect.Effect<void, EngineError>;
  /** Stops and removes the container (and its anonymous volumes); a missing one is fine. */
  readonly remove: (id: string, graceSeconds: number) => Effect.Effect<void, EngineError>;
  readonly createVolume: (name: string, labels: Readonly<Record<string, string>>) => Effect.Effect<void, EngineError>;
  readonly removeVolume: (name: string) => Effect.Effect<void, EngineError>;
  readonly volumes: (labels: Readonly<Record<string, string>>) => Effect.Effect<readonly string[], EngineError>;
  readonly logs: (id: string, lines: number) => Effect.Effect<string, EngineError>;
}

const labelFilter = (labels: Readonly<Record<string, string>>) => ({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
const ignoreStatus =
  (...codes: number[]) =>
  (e: EngineError): Effect.Effect<void, EngineError> =>
    e.statusCode !== undefined && codes.includes(e.statusCode) ? Effect.void : Effect.fail(e);

export function makeEngine(config: DockerBackendConfig): Engine {
  const docker =
    config.tcp !== undefined
      ? new Docker({ host: config.tcp.slice(0, config.tcp.lastIndexOf(":")), port: Number(config.tcp.slice(config.tcp.lastIndexOf(":") + 1)), protocol: "http" })
      : new Docker({ socketPath: config.socketPath });
  return {
    docker,
    ping: call(() => docker.ping()).pipe(Effect.asVoid),
    cpus: call(() => docker.info() as Promise<{ NCPU?: unknown }>).pipe(Effect.map((info) => (typeof info.NCPU === "number" && info.NCPU > 0 ? info.NCPU : 1))),
    imageExists: (image) =>
      call(() => docker.getImage(image).inspect()).pipe(
        Effect.as(true),
        Effect.catchIf(
          (e) => e.statusCode === 404,
          () => Effect.succeed(false),
        ),
      ),
    pull: (image, timeoutMs) =>
      call(
        (signal) =>
          new Promise<void>((resolve, reject) => {
            docker.pull(image, { abortSignal: signal }, (err: unknown, stream?: NodeJS.ReadableStream) => {
              if (err || stream === undefined) return reject(err ?? new Error("no pull stream"));
              docker.modem.followProgress(stream, (done: unknown) => (done ? reject(done) : resolve()));
            });
          }),
      ).pipe(Effect.timeoutFail({ duration: Duration.millis(timeoutMs), onTimeout: () => new EngineError({ statusCode: 504, message: `pull did not finish within ${timeoutMs} ms` }) })),
    list: (labels) =>
      call(() => docker.listContainers({ all: true, filters: labelFilter(labels) })).pipe(Effect.flatMap(decode(Schema.Array(ContainerSummarySchema)))),
    inspect: (id) =>
      call(() => docker.getContainer(id).inspect()).pipe(
        Effect.flatMap(decode(ContainerInfoSchema)),
        Effect.catchIf(
          (e) => e.statusCode === 404,
          () => Effect.succeed(undefined),
        ),
      ),
    // A create whose answer was lost (engine restarted, connection cut) left the container behind:
    // its name is taken (409), and that container is the one asked for.
    create: (options) =>
      call(() => docker.createContainer(options)).pipe(
        Effect.map((c) => c.id),
        Effect.catchIf(
          (e) => e.statusCode === 409 && options.name !== undefined,
          (e) => call(() => docker.getContainer(options.name!).inspect()).pipe(Effect.map((info) => info.Id), Effect.mapError(() => e)),
        ),
      ),
    start: (id) => call(() => docker.getContainer(id).start()).pipe(Effect.asVoid, Effect.catchAll(ignoreStatus(304))),
    stop: (id, graceSeconds) => call(() => docker.getContainer(id).stop({ t: graceSeconds })).pipe(Effect.asVoid, Effect.catchAll(ignoreStatus(304, 404))),
    remove: (id, graceSeconds) =>
      call(() => docker.getContainer(id).stop({ t: graceSeconds })).pipe(
        Effect.asVoid,
        Effect.catchAll(ignoreStatus(304, 404)),
        Effect.zipRight(call(() => docker.getContainer(id).remove({ force: true, v: true })).pipe(Effect.asVoid, Effect.catchAll(ignoreStatus(404, 409)))),
      ),
    // Creating a volume that exists is not an error in the Engine API: it answers with that volume.
    createVolume: (name, labels) => call(() => docker.createVolume({ Name: name, Labels: { ...labels } })).pipe(Effect.asVoid),
    removeVolume: (name) => call(() => docker.getVolume(name).remove()).pipe(Effect.asVoid, Effect.catchAll(ignoreStatus(404))),
    volumes: (labels) =>
      call(() => docker.listVolumes({ filters: labelFilter(labels) })).pipe(Effect.map((r) => (r.Volumes ?? []).map((v) => v.Name))),
    logs: (id, lines) =>
      call(() => docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false }) as Promise<Buffer>).pipe(
        Effect.map((b) => demuxLogs(Buffer.isBuffer(b) ? b : Buffer.from(String(b)))),
        Effect.catchIf(
          (e) => e.statusCode === 404,
          () => Effect.succeed(""),
        ),
      ),
  };
}
