import { closeSync, fsync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Clock, Effect, Exit, type Scope } from "effect";
import { storeDefaults } from "./defaults.js";
import { storeError, type StoreError } from "./errors.js";
import { soleLeader } from "./leader-control.js";
import { migrate, migrations as allMigrations, type Migration } from "./migrations.js";
import { defaultReplicaName } from "./replica.js";
import type { Dialect, Query, SqlDriver } from "./sql/driver.js";
import { makeSqlStore } from "./sql/sql-store.js";
import type { StoreShape } from "./types.js";

export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. */
  readonly path: string;
  readonly keepTail?: number;
  readonly idempotencyTtlMs?: number;
  /** How long to wait for the file's lock before reporting that another berthd holds it. */
  readonly busyTimeoutMs?: number;
  readonly replica?: string;
  /** For tests of migration itself; berthd always uses the full list. */
  readonly migrations?: ReadonlyArray<Migration>;
}

export const sqliteDialect: Dialect = {
  name: "sqlite",
  int64: "INTEGER",
  float64: "REAL",
  json: "TEXT",
  forUpdate: "",
  readJson: (column) => ({ text: String(column) }),
};

const errorCode = (cause: unknown): string => (cause !== null && typeof cause === "object" && "code" in cause ? String(cause.code) : "");

const fromSqlite = (what: string, cause: unknown): StoreError => {
  const code = errorCode(cause);
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") return storeError("Corrupt", `${what}: ${detail}`, { cause });
  if (code.startsWith("SQLITE_CONSTRAINT")) return storeError("Corrupt", `${what} broke a constraint: ${detail}`, { cause });
  return storeError("Unavailable", `${what}: ${detail}`, { cause });
};

/** Who holds the database, written beside it for the error the next berthd will print. */
interface OwnerNote {
  readonly replica: string;
  readonly pid: number;
  readonly since: number;
}

const ownerNotePath = (path: string) => `${path}.lock`;

const readOwnerNote = (path: string): string => {
  try {
    const note = JSON.parse(readFileSync(ownerNotePath(path), "utf8")) as OwnerNote;
    return ` (held by ${note.replica}, pid ${note.pid}, since ${new Date(note.since).toISOString()})`;
  } catch {
    return "";
  }
};

/**
 * Opens the file for this process alone. `locking_mode = EXCLUSIVE` makes SQLite keep its OS
 * lock on the database file from the first transaction until close, so a second berthd on the
 * same file gets SQLITE_BUSY and refuses to start; the kernel drops the lock when the process
 * dies, even by kill -9, so there is never a stale lock to clean up. (The `.lock` file beside the
 * database only says who holds it, for the error message.)
 *
 * Durability: every write transaction's commit is on disk before the transaction's effect
 * completes, so an acknowledged append survives kill -9 and power loss ("persist first, act
 * second"). SQLite's `synchronous = FULL` would fsync the WAL inside COMMIT, blocking berthd's one
 * thread for the disk's flush (a tenth of its time under load); instead SQLite runs with NORMAL
 * (COMMIT writes the WAL, unsynced) and the driver fsyncs the WAL file itself on libuv's thread
 * pool after each COMMIT (walSync), waiting for it before the commit counts: the same guarantee,
 * while the event loop takes the next calls, which then commit together.
 */
const openDatabase = (path: string, busyTimeoutMs: number): Effect.Effect<Database.Database, StoreError> =>
  Effect.try({
    try: () => {
      mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path, { timeout: busyTimeoutMs });
      try {
        db.pragma("locking_mode = EXCLUSIVE");
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = NORMAL");
        db.exec("BEGIN EXCLUSIVE; COMMIT");
        return db;
      } catch (cause) {
        db.close();
        throw cause;
      }
    },
    catch: (cause) =>
      errorCode(cause) === "SQLITE_BUSY" || errorCode(cause) === "SQLITE_LOCKED"
        ? storeError("Unavailable", `the store ${path} is in use by another berthd${readOwnerNote(path)}; run one berthd per SQLite store, or use PostgreSQL for several replicas`, { cause })
        : fromSqlite(`opening ${path}`, cause),
  });

/** `$1`-style SQL (as PostgreSQL writes it) to SQLite's `?`, with the parameters in order of use. */
const positional = (sql: string): { readonly text: string; readonly order: ReadonlyArray<number> } => {
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(Number(n) - 1);
    return "?";
  });
  return { text, order };
};

/**
 * fsync of the database's WAL file off the event loop. fsync flushes the file, whichever
 * descriptor names it; SQLite keeps the WAL (same inode) open until the connection closes.
 */
const walSync = (path: string): { readonly sync: Effect.Effect<void, StoreError>; readonly close: () => void } => {
  let fd: number | undefined;
  return {
    sync: Effect.async<void, StoreError>((resume) => {
      try {
        fd ??= openSync(`${path}-wal`, "r");
      } catch (cause) {
        return resume(Effect.fail(fromSqlite("opening the WAL to sync it", cause)));
      }
      fsync(fd, (error) => resume(error === null ? Effect.void : Effect.fail(fromSqlite("fsync of the WAL", error))));
    }),
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
};

const makeDriver = (db: Database.Database, wal: ReturnType<typeof walSync>): Effect.Effect<SqlDriver> =>
  Effect.gen(function* () {
    const statements = new Map<string, { readonly statement: Database.Statement; readonly order: ReadonlyArray<number> }>();
    const prepare = (sql: string) => {
      let prepared = statements.get(sql);
      if (prepared === undefined) {
        const { text, order } = positional(sql);
        prepared = { statement: db.prepare(text), order };
        statements.set(sql, prepared);
      }
      return prepared;
    };
    const query: Query = <R>(sql: string, params: ReadonlyArray<unknown> = []) =>
      Effect.try({
        try: () => {
          const { statement, order } = prepare(sql);
          const args = order.map((i) => params[i] ?? null);
          if (statement.reader) return statement.all(...args) as ReadonlyArray<R>;
          statement.run(...args);
          return [] as ReadonlyArray<R>;
        },
        catch: (cause) => fromSqlite("query", cause),
      });
    const exec = (sql: string) => Effect.try({ try: () => void db.exec(sql), catch: (cause) => fromSqlite(sql, cause) });
    // better-sqlite3 is synchronous, but an Effect body can yield between statements: one
    // transaction at a time on the connection.
    const lock = yield* Effect.makeSemaphore(1);
    const transaction: SqlDriver["transaction"] = (body, options = {}) =>
      lock.withPermits(1)(
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            yield* exec(options.readOnly === true ? "BEGIN" : "BEGIN IMMEDIATE");
            const exit = yield* Effect.exit(restore(body(query)));
            if (Exit.isSuccess(exit)) {
              const committed = yield* Effect.exit(exec("COMMIT"));
              if (Exit.isSuccess(committed)) {
                // Durable before it counts (see openDatabase). A failed fsync fails the call: the
                // commit may or may not be on disk, and berthd reports it rather than act on it.
                if (options.readOnly !== true) yield* wal.sync;
                return exit.value;
              }
              if (db.inTransaction) db.exec("ROLLBACK");
              return yield* Effect.failCause(committed.cause);
            }
            if (db.inTransaction) yield* Effect.ignore(exec("ROLLBACK"));
            return yield* exit;
          }),
        ),
      );
    return { dialect: sqliteDialect, transaction, query: (sql, params) => lock.withPermits(1)(query(sql, params)) };
  });

export const makeSqliteStore = (options: SqliteStoreOptions): Effect.Effect<StoreShape, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const replica = options.replica ?? defaultReplicaName();
    const wal = walSync(options.path);
    const db = yield* Effect.acquireRelease(openDatabase(options.path, options.busyTimeoutMs ?? 2000), (db) =>
      Effect.sync(() => {
        wal.close();
        db.close();
        rmSync(ownerNotePath(options.path), { force: true });
      }),
    );
    const now = yield* Clock.currentTimeMillis;
    yield* Effect.try({
      try: () => writeFileSync(ownerNotePath(options.path), JSON.stringify({ replica, pid: process.pid, since: now } satisfies OwnerNote)),
      catch: (cause) => storeError("Unavailable", `cannot write ${ownerNotePath(options.path)}`, { cause }),
    });
    const driver = yield* makeDriver(db, wal);
    yield* migrate(driver, options.migrations ?? allMigrations);
    // One process owns the file, so it leads; the epoch still counts opens, which dates every event.
    const epoch = yield* driver.transaction((query) =>
      Effect.map(
        query<{ epoch: number }>(`UPDATE store_head SET epoch = epoch + 1, leader = $1, leader_since = $2 WHERE id = 1 RETURNING epoch`, [replica, now]),
        (rows) => Number(rows[0].epoch),
      ),
    );
    const control = yield* soleLeader(replica, epoch);
    return makeSqlStore(driver, control, {
      keepTail: options.keepTail ?? storeDefaults.keepTail,
      idempotencyTtlMs: options.idempotencyTtlMs ?? storeDefaults.idempotencyTtlMs,
      insertChunk: 500,
    });
  });
