import type { Effect } from "effect";
import type { StoreError } from "../errors.js";

/**
 * The few places where SQLite and PostgreSQL differ, as data: migrations and queries are written
 * once and read these.
 */
export interface Dialect {
  readonly name: "sqlite" | "postgres";
  /** 64-bit integers: SQLite's INTEGER (which also makes `INTEGER PRIMARY KEY` the rowid). */
  readonly int64: string;
  readonly float64: string;
  /** Column type for JSON documents: JSON on PostgreSQL, TEXT on SQLite. */
  readonly json: string;
  /** Row lock on a read inside a write transaction; SQLite's write transactions lock the file. */
  readonly forUpdate: string;
  /** Serialises concurrent migrations of several replicas (none needed where the file is locked). */
  readonly migrationLock?: string;
  /** A JSON column as read back: PostgreSQL's driver parses JSON, SQLite hands back text. */
  readonly readJson: (column: unknown) => { readonly parsed: unknown } | { readonly text: string };
}

/** One statement, `$1`-style parameters; the rows it returns (none for plain writes). */
export type Query = <R = Record<string, unknown>>(sql: string, params?: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<R>, StoreError>;

export interface TransactionOptions {
  /** A consistent read: REPEATABLE READ READ ONLY on PostgreSQL. */
  readonly readOnly?: boolean;
  /**
   * Running it twice cannot apply it twice, so a failure during COMMIT (outcome unknown) may be
   * retried. Without this only failures before COMMIT are marked retryable.
   */
  readonly idempotent?: boolean;
}

export interface SqlDriver {
  readonly dialect: Dialect;
  /** Runs `body` in one transaction, committed when it succeeds and rolled back when it fails. */
  readonly transaction: <A>(body: (query: Query) => Effect.Effect<A, StoreError>, options?: TransactionOptions) => Effect.Effect<A, StoreError>;
  /** One statement on its own (autocommit). */
  readonly query: Query;
}
