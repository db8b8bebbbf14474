// The process backend's memory across restarts: which servers it runs (their specs) and, per
// replica, the ports and pids of its processes. Written atomically on every change; read once
// when the backend starts, to adopt what still runs and kill what should not.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Either, Schema } from "effect";
import { ServerSpecSchema } from "../spec.js";

export const RecordedReplicaSchema = Schema.Struct({
  index: Schema.Int,
  ports: Schema.Struct({ http: Schema.Int, grpc: Schema.Int, metrics: Schema.Int }),
  server: Schema.Int,
  sidecar: Schema.optional(Schema.Int),
});
export type RecordedReplica = Schema.Schema.Type<typeof RecordedReplicaSchema>;

export const RecordedServerSchema = Schema.Struct({ spec: ServerSpecSchema, replicas: Schema.Array(RecordedReplicaSchema) });
export type RecordedServer = Schema.Schema.Type<typeof RecordedServerSchema>;

export const StateFileSchema = Schema.Struct({ version: Schema.Literal(1), servers: Schema.Array(RecordedServerSchema) });
export type StateFile = Schema.Schema.Type<typeof StateFileSchema>;

export const stateFilePath = (stateDir: string): string => join(stateDir, "state.json");

/** The recorded state; empty when there is no file; an error when it exists but does not decode. */
export function readStateFile(stateDir: string): Either.Either<StateFile, string> {
  let text: string;
  try {
    text = readFileSync(stateFilePath(stateDir), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return Either.right({ version: 1, servers: [] });
    return Either.left(`cannot read ${stateFilePath(stateDir)}: ${(e as Error).message}`);
  }
  return Schema.decodeUnknownEither(Schema.parseJson(StateFileSchema))(text).pipe(Either.mapLeft((e) => `${stateFilePath(stateDir)}: ${e.message}`));
}

export function writeStateFile(stateDir: string, state: StateFile): void {
  mkdirSync(stateDir, { recursive: true });
  const path = stateFilePath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(Schema.encodeSync(StateFileSchema)(state), null, 2)}\n`);
  renameSync(tmp, path);
}
