import { Clock, Effect } from "effect";
import { storeError, type StoreError } from "./errors.js";
import type { Dialect, SqlDriver } from "./sql/driver.js";

/**
 * One numbered list for both databases; each migration's statements are written once against
 * the Dialect, which carries the few differences (integer and JSON column types). Append new
 * migrations at the end; never edit one that has shipped.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (d: Dialect) => ReadonlyArray<string>;
}

export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "event log, snapshots and head",
    statements: (d) => [
      // One row: the last sequence number given out, how far compaction went, and the leader
      // term. Appends lock it, which serialises them (gap-free, commit-ordered seqs) and fences
      // them against a takeover in the same step.
      `CREATE TABLE store_head (
        id ${d.int64} PRIMARY KEY CHECK (id = 1),
        last_seq ${d.int64} NOT NULL,
        compacted_through ${d.int64} NOT NULL,
        epoch ${d.int64} NOT NULL,
        leader TEXT,
        leader_since ${d.int64}
      )`,
      `INSERT INTO store_head (id, last_seq, compacted_through, epoch) VALUES (1, 0, 0, 0)`,
      `CREATE TABLE events (
        seq ${d.int64} PRIMARY KEY,
        type TEXT NOT NULL,
        at ${d.float64} NOT NULL,
        payload ${d.json} NOT NULL,
        recorded_at ${d.int64} NOT NULL,
        epoch ${d.int64} NOT NULL
      )`,
      `CREATE TABLE snapshots (
        seq ${d.int64} PRIMARY KEY,
        state ${d.json} NOT NULL,
        taken_at ${d.int64} NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: "idempotency keys",
    statements: (d) => [
      `CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        first_seq ${d.int64} NOT NULL,
        last_seq ${d.int64} NOT NULL,
        created_at ${d.int64} NOT NULL
      )`,
      `CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)`,
    ],
  },
  {
    version: 3,
    name: "config",
    statements: (d) => [
      `CREATE TABLE config (
        key TEXT PRIMARY KEY,
        value ${d.json} NOT NULL,
        updated_at ${d.int64} NOT NULL
      )`,
    ],
  },
];

export const latestVersion = (list: ReadonlyArray<Migration>): number => list.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Brings the database to the newest version in `list`, in one transaction (DDL is
 * transactional on both databases, so a crash leaves the old version, never half a new one).
 * Refuses a database migrated by newer code, or one whose history names differ from ours.
 */
export const migrate = (driver: SqlDriver, list: ReadonlyArray<Migration> = migrations): Effect.Effect<number, StoreError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis;
    const d = driver.dialect;
    return yield* driver.transaction((query) =>
      Effect.gen(function* () {
        if (d.migrationLock !== undefined) yield* query(d.migrationLock);
        yield* query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version ${d.int64} PRIMARY KEY,
          name TEXT NOT NULL,
          applied_at ${d.int64} NOT NULL
        )`);
        const applied = yield* query<{ version: number; name: string }>(`SELECT version, name FROM schema_migrations ORDER BY version`);
        const known = latestVersion(list);
        const newest = applied.reduce((max, row) => Math.max(max, Number(row.version)), 0);
        if (newest > known) {
          return yield* Effect.fail(
            storeError("NewerSchema", `the store is at schema version ${newest}, newer than this berthd knows (${known}); upgrade berthd`),
          );
        }
        const byVersion = new Map(list.map((m) => [m.version, m]));
        for (const row of applied) {
          const mine = byVersion.get(Number(row.version));
          if (mine === undefined || mine.name !== row.name) {
            return yield* Effect.fail(
              storeError("Corrupt", `schema_migrations has version ${row.version} "${row.name}", which this berthd names "${mine?.name ?? "(none)"}"`),
            );
          }
        }
        const done = new Set(applied.map((row) => Number(row.version)));
        for (const m of [...list].sort((a, b) => a.version - b.version)) {
          if (done.has(m.version)) continue;
          for (const statement of m.statements(d)) yield* query(statement);
          yield* query(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, now]);
        }
        return known;
      }),
      // Running it again re-reads schema_migrations and applies only what is missing.
      { idempotent: true },
    );
  });
