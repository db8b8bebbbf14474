import pg from "pg";
import { Effect, type Scope } from "effect";
import { storeDefaults } from "./defaults.js";
import { storeError, type StoreError } from "./errors.js";
import { migrate, migrations as allMigrations, type Migration } from "./migrations.js";
import { connectionConfig, makePostgresDriver, SCHEMA_NAME } from "./postgres-driver.js";
import { electLeader } from "./postgres-leader.js";
import { defaultReplicaName } from "./replica.js";
import { retryTransient } from "./retry.js";
import { makeSqlStore } from "./sql/sql-store.js";
import type { StoreShape } from "./types.js";

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  readonly replica?: string;
  readonly poolSize?: number;
  readonly keepTail?: number;
  readonly idempotencyTtlMs?: number;
  readonly pollIntervalMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly stepDownBackoffMs?: number;
  /**
   * The schema holding Berth's tables (created when missing; default "public"). Replicas of one
   * Berth name the same schema; two Berths can share a database with two schemas, since the
   * advisory locks are keyed by schema too.
   */
  readonly schema?: string;
  readonly migrations?: ReadonlyArray<Migration>;
}

/**
 * PostgreSQL for several berthd replicas: all of them migrate (serialised by an advisory lock)
 * and read; the elected leader alone writes.
 */
export const makePostgresStore = (options: PostgresStoreOptions): Effect.Effect<StoreShape, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const replica = options.replica ?? defaultReplicaName();
    const schema = options.schema ?? "public";
    if (!SCHEMA_NAME.test(schema)) return yield* Effect.fail(storeError("Invalid", `schema "${schema}" is not a plain lower-case SQL name`));
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({ ...connectionConfig(options.url, schema, `berthd:${replica}`), max: options.poolSize ?? 4 });
        // An idle connection that dies is dropped by the pool; without a listener it would crash us.
        pool.on("error", () => undefined);
        return pool;
      }),
      (pool) => Effect.promise(() => pool.end().catch(() => undefined)),
    );
    const driver = makePostgresDriver(pool, schema);
    yield* retryTransient(driver.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)).pipe(
      // Lacking the privilege to create it is fine when it exists already.
      Effect.catchAll((error) => Effect.flatMap(driver.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema]), (rows) => (rows.length > 0 ? Effect.void : Effect.fail(error)))),
    );
    yield* retryTransient(migrate(driver, options.migrations ?? allMigrations));
    const control = yield* electLeader({
      url: options.url,
      schema,
      replica,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      stepDownBackoffMs: options.stepDownBackoffMs ?? 3000,
    });
    return makeSqlStore(driver, control, {
      keepTail: options.keepTail ?? storeDefaults.keepTail,
      idempotencyTtlMs: options.idempotencyTtlMs ?? storeDefaults.idempotencyTtlMs,
      insertChunk: 1000,
    });
  });
