import pg from "pg";
import { Effect, Exit } from "effect";
import { storeError, type StoreError } from "./errors.js";
import type { Dialect, Query, SqlDriver } from "./sql/driver.js";

/**
 * Advisory locks are per database, so Berth's are two-part keys: what the lock is for, and the
 * schema it guards (several Berths, or several tests, can share one database, one schema each).
 */
export const LEADER_LOCK = 0x42455254; // "BERT"
export const MIGRATION_LOCK = LEADER_LOCK + 1;

/** A 32-bit key for a schema name (FNV-1a), the second half of Berth's advisory lock keys. */
export const schemaLockKey = (schema: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) hash = Math.imul(hash ^ schema.charCodeAt(i), 0x01000193);
  return hash | 0;
};

export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export const postgresDialect = (schema: string): Dialect => ({
  name: "postgres",
  int64: "BIGINT",
  float64: "DOUBLE PRECISION",
  // JSON, not JSONB: kept as written (JSONB refuses "\u0000" in strings, and reorders keys).
  json: "JSON",
  forUpdate: " FOR UPDATE",
  migrationLock: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK}, ${schemaLockKey(schema)})`,
  readJson: (column) => ({ parsed: column }),
});

/** BIGINT columns as numbers: sequence numbers and epoch milliseconds stay far below 2^53. */
export const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text")) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * Connection settings every Berth connection carries. synchronous_commit is forced on so that
 * COMMIT returns only once the WAL is flushed, whatever the server's default: an acknowledged
 * append survives a crash of the server as well as of berthd.
 */
export const connectionConfig = (url: string, schema: string, applicationName: string): pg.ClientConfig => ({
  connectionString: url,
  types: pgTypes,
  application_name: applicationName,
  options: `-c synchronous_commit=on -c search_path=${schema}`,
  keepAlive: true,
  connectionTimeoutMillis: 5000,
});

/** SQLSTATEs after which the same transaction, run again, may succeed. */
const transientStates = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "08000", "08001", "08003", "08004", "08006", // connection exceptions
]);

const sqlState = (cause: unknown): string | undefined =>
  cause instanceof pg.DatabaseError && typeof cause.code === "string" ? cause.code : undefined;

/** Errors that did not come from the server: the connection broke (reset, refused, terminated). */
export const isConnectionError = (cause: unknown): boolean => sqlState(cause) === undefined;

export const fromPg = (what: string, cause: unknown): StoreError => {
  const state = sqlState(cause);
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (state === undefined || transientStates.has(state)) return storeError("Unavailable", `${what}: ${detail}`, { cause, retryable: true });
  if (state.startsWith("22")) return storeError("Invalid", `${what}: ${detail}`, { cause });
  if (state.startsWith("23")) return storeError("Corrupt", `${what} broke a constraint: ${detail}`, { cause });
  return storeError("Unavailable", `${what}: ${detail} (SQLSTATE ${state})`, { cause });
};

const clientQuery = (client: pg.ClientBase): Query => <R>(sql: string, params: ReadonlyArray<unknown> = []) =>
  Effect.tryPromise({
    try: () => client.query(sql, params as unknown[]).then((result) => result.rows as ReadonlyArray<R>),
    catch: (cause) => fromPg("query", cause),
  });

/** Failures that say nothing about the connection, after which it can go back to the pool. */
const cleanFailure = (exit: Exit.Exit<unknown, StoreError>): boolean =>
  Exit.isFailure(exit) &&
  exit.cause._tag === "Fail" &&
  (exit.cause.error.reason === "Fenced" || exit.cause.error.reason === "Conflict" || exit.cause.error.reason === "Invalid" || exit.cause.error.reason === "Compacted");

export const makePostgresDriver = (pool: pg.Pool, schema: string): SqlDriver => {
  const transaction: SqlDriver["transaction"] = (body, options = {}) =>
    Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => pool.connect(), catch: (cause) => fromPg("connecting", cause) }),
      (client) =>
        Effect.gen(function* () {
          const query = clientQuery(client);
          yield* query(options.readOnly === true ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
          const result = yield* body(query).pipe(Effect.tapError(() => Effect.ignore(query("ROLLBACK"))));
          yield* Effect.tryPromise({ try: () => client.query("COMMIT"), catch: (cause) => cause }).pipe(
            Effect.mapError((cause) => {
              const error = fromPg("commit", cause);
              // The server answered with an error: nothing was committed. No answer at all: the
              // commit may or may not have happened, and only an idempotent body may run again.
              const retryable = isConnectionError(cause) ? options.idempotent === true : error.retryable === true;
              return storeError(error.reason, isConnectionError(cause) ? `${error.message} (outcome unknown)` : error.message, { cause, retryable });
            }),
          );
          return result;
        }),
      (client, exit) =>
        Effect.sync(() => {
          // After anything unexpected the connection may be mid-transaction or broken: drop it.
          client.release(Exit.isSuccess(exit) || cleanFailure(exit) ? undefined : true);
        }),
    );

  const query: Query = <R>(sql: string, params: ReadonlyArray<unknown> = []) =>
    Effect.tryPromise({
      try: () => pool.query(sql, params as unknown[]).then((result) => result.rows as ReadonlyArray<R>),
      catch: (cause) => fromPg("query", cause),
    });

  return { dialect: postgresDialect(schema), transaction, query };
};
