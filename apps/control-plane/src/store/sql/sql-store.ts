import { Chunk, Clock, Effect, Option, Stream } from "effect";
import { decodeJson, encodeEvents, encodeJson, fingerprint, type EncodedEvent } from "../encode.js";
import { storeError, type StoreError } from "../errors.js";
import type { LeaderControl } from "../leader-control.js";
import { retryTransient } from "../retry.js";
import type { AppendResult, CompactResult, Recovery, Snapshot, StoredEvent, StoreShape } from "../types.js";
import type { Query, SqlDriver, TransactionOptions } from "./driver.js";

export interface SqlStoreOptions {
  /** Events kept before the newest snapshot when compact() is not told otherwise. */
  readonly keepTail: number;
  readonly idempotencyTtlMs: number;
  /** Rows per multi-row INSERT (both databases cap the number of parameters per statement). */
  readonly insertChunk: number;
}

interface HeadRow {
  readonly last_seq: number;
  readonly compacted_through: number;
  readonly epoch: number;
}

interface EventRow {
  readonly seq: number;
  readonly epoch: number;
  readonly recorded_at: number;
  readonly payload: unknown;
}

const EVENT_COLUMNS = `seq, epoch, recorded_at, payload`;

/**
 * The store's logic written once over a SqlDriver: SQLite and PostgreSQL differ only in their
 * drivers, dialects and leadership.
 */
export const makeSqlStore = (driver: SqlDriver, control: LeaderControl, options: SqlStoreOptions): StoreShape => {
  const d = driver.dialect;

  const json = (what: string, column: unknown): Effect.Effect<unknown, StoreError> => {
    const read = d.readJson(column);
    return "parsed" in read ? Effect.succeed(read.parsed) : decodeJson(what, read.text);
  };

  const toStored = (row: EventRow): Effect.Effect<StoredEvent, StoreError> =>
    Effect.map(json(`event ${row.seq}`, row.payload), (event) => ({
      seq: Number(row.seq),
      epoch: Number(row.epoch),
      recordedAt: Number(row.recorded_at),
      event: event as StoredEvent["event"],
    }));

  const readHead = (query: Query, lock: boolean): Effect.Effect<HeadRow, StoreError> =>
    Effect.flatMap(
      query<HeadRow>(`SELECT last_seq, compacted_through, epoch FROM store_head WHERE id = 1${lock ? d.forUpdate : ""}`),
      (rows) =>
        rows.length === 1
          ? Effect.succeed({ last_seq: Number(rows[0].last_seq), compacted_through: Number(rows[0].compacted_through), epoch: Number(rows[0].epoch) })
          : Effect.fail(storeError("Corrupt", "store_head has no row: the database was not created by Berth's migrations")),
    );

  const read = <A>(body: (query: Query) => Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
    retryTransient(driver.transaction(body, { readOnly: true, idempotent: true }));

  /**
   * A write transaction fenced by the leader epoch: the head row is locked first, so a takeover
   * (which bumps the epoch in that row) waits for writes in flight and every later write of the
   * old leader sees the new epoch and is refused.
   */
  const write = <A>(body: (query: Query, head: HeadRow) => Effect.Effect<A, StoreError>, txOptions: TransactionOptions): Effect.Effect<A, StoreError> =>
    Effect.gen(function* () {
      const epoch = yield* control.writeEpoch;
      return yield* retryTransient(
        driver.transaction(
          (query) =>
            Effect.gen(function* () {
              const head = yield* readHead(query, true);
              if (head.epoch !== epoch) {
                return yield* Effect.fail(
                  storeError("Fenced", `replica ${control.leadership.replica} writes under epoch ${epoch} but the store is at epoch ${head.epoch}: another replica took over`),
                );
              }
              return yield* body(query, head);
            }),
          txOptions,
        ),
      ).pipe(Effect.tapError((error) => (error.reason === "Fenced" ? control.deposed : Effect.void)));
    });

  const insertEvents = (query: Query, firstSeq: number, events: ReadonlyArray<EncodedEvent>, recordedAt: number, epoch: number) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(events.length / options.insertChunk) }, (_, i) => i * options.insertChunk),
      (start) => {
        const chunk = events.slice(start, start + options.insertChunk);
        const params: unknown[] = [];
        const tuples = chunk.map((e, i) => {
          const p = params.length;
          params.push(firstSeq + start + i, e.type, e.at, e.json, recordedAt, epoch);
          return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6})`;
        });
        return query(`INSERT INTO events (seq, type, at, payload, recorded_at, epoch) VALUES ${tuples.join(", ")}`, params);
      },
      { discard: true },
    );

  const append: StoreShape["append"] = (events, appendOptions = {}) =>
    Effect.gen(function* () {
      const encoded = yield* encodeEvents(events);
      const print = fingerprint(encoded);
      const key = appendOptions.idempotencyKey;
      const now = yield* Clock.currentTimeMillis;
      return yield* write(
        (query, head) =>
          Effect.gen(function* () {
            if (key !== undefined) {
              const seen = yield* query<{ fingerprint: string; first_seq: number; last_seq: number }>(
                `SELECT fingerprint, first_seq, last_seq FROM idempotency_keys WHERE key = $1`,
                [key],
              );
              if (seen.length > 0) {
                if (seen[0].fingerprint !== print) {
                  return yield* Effect.fail(storeError("Conflict", `idempotency key "${key}" was used before for different events`));
                }
                return { firstSeq: Number(seen[0].first_seq), lastSeq: Number(seen[0].last_seq), duplicate: true } satisfies AppendResult;
              }
            }
            const firstSeq = head.last_seq + 1;
            const lastSeq = head.last_seq + encoded.length;
            yield* insertEvents(query, firstSeq, encoded, now, head.epoch);
            yield* query(`UPDATE store_head SET last_seq = $1 WHERE id = 1`, [lastSeq]);
            if (key !== undefined) {
              yield* query(`INSERT INTO idempotency_keys (key, fingerprint, first_seq, last_seq, created_at) VALUES ($1, $2, $3, $4, $5)`, [
                key,
                print,
                firstSeq,
                lastSeq,
                now,
              ]);
            }
            return { firstSeq, lastSeq, duplicate: false } satisfies AppendResult;
          }),
        { idempotent: key !== undefined },
      );
    });

  const validSeq = (what: string, seq: number): Effect.Effect<number, StoreError> =>
    Number.isSafeInteger(seq) && seq >= 0 ? Effect.succeed(seq) : Effect.fail(storeError("Invalid", `${what} must be a whole number >= 0, got ${seq}`));

  const readFrom: StoreShape["readFrom"] = (fromSeq, readOptions = {}) =>
    Effect.gen(function* () {
      const from = Math.max(1, yield* validSeq("fromSeq", fromSeq));
      const limit = readOptions.limit ?? 1000;
      return yield* read((query) =>
        Effect.gen(function* () {
          const head = yield* readHead(query, false);
          if (from <= head.compacted_through) {
            return yield* Effect.fail(
              storeError("Compacted", `events up to ${head.compacted_through} were compacted away; read ${from} is gone (recover from the latest snapshot)`),
            );
          }
          const rows = yield* query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2`, [from, limit]);
          return yield* Effect.forEach(rows, toStored);
        }),
      );
    });

  const stream: StoreShape["stream"] = (fromSeq, streamOptions = {}) => {
    const batchSize = Math.max(1, streamOptions.batchSize ?? 500);
    return Stream.paginateChunkEffect(fromSeq, (cursor) =>
      Effect.map(readFrom(cursor, { limit: batchSize }), (batch) => [
        Chunk.fromIterable(batch),
        batch.length < batchSize ? Option.none<number>() : Option.some(batch[batch.length - 1].seq + 1),
      ]),
    );
  };

  const saveSnapshot: StoreShape["saveSnapshot"] = (seq, state) =>
    Effect.gen(function* () {
      yield* validSeq("snapshot seq", seq);
      const text = yield* encodeJson("snapshot state", state);
      const now = yield* Clock.currentTimeMillis;
      yield* write(
        (query, head) =>
          seq > head.last_seq
            ? Effect.fail(storeError("Conflict", `snapshot at seq ${seq} is beyond the head of the log (${head.last_seq})`))
            : query(
                `INSERT INTO snapshots (seq, state, taken_at) VALUES ($1, $2, $3)
                 ON CONFLICT (seq) DO UPDATE SET state = excluded.state, taken_at = excluded.taken_at`,
                [seq, text, now],
              ),
        { idempotent: true },
      );
    });

  const latest: StoreShape["latest"] = read((query) =>
    Effect.gen(function* () {
      const head = yield* readHead(query, false);
      const snaps = yield* query<{ seq: number; state: unknown; taken_at: number }>(`SELECT seq, state, taken_at FROM snapshots ORDER BY seq DESC LIMIT 1`);
      const snapshot: Option.Option<Snapshot> =
        snaps.length === 0
          ? Option.none()
          : Option.some({ seq: Number(snaps[0].seq), state: yield* json(`snapshot ${snaps[0].seq}`, snaps[0].state), takenAt: Number(snaps[0].taken_at) });
      const from = Option.match(snapshot, { onNone: () => 1, onSome: (s) => s.seq + 1 });
      if (from <= head.compacted_through) {
        return yield* Effect.fail(storeError("Corrupt", `events up to ${head.compacted_through} were compacted but the newest snapshot is at ${from - 1}`));
      }
      const rows = yield* query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq >= $1 ORDER BY seq`, [from]);
      const events = yield* Effect.forEach(rows, toStored);
      const expected = head.last_seq - from + 1;
      if (events.length !== Math.max(0, expected) || (events.length > 0 && (events[0].seq !== from || events[events.length - 1].seq !== head.last_seq))) {
        return yield* Effect.fail(storeError("Corrupt", `the log after seq ${from - 1} should hold ${expected} events up to ${head.last_seq}, it holds ${events.length}`));
      }
      return { snapshot, events, headSeq: head.last_seq } satisfies Recovery;
    }),
  );

  const count = (query: Query, sql: string, params: ReadonlyArray<unknown>) =>
    Effect.map(query<{ n: number }>(sql, params), (rows) => Number(rows[0]?.n ?? 0));

  const compact: StoreShape["compact"] = (compactOptions = {}) =>
    Effect.gen(function* () {
      const keepTail = Math.max(0, compactOptions.keepTail ?? options.keepTail);
      const ttl = compactOptions.idempotencyTtlMs ?? options.idempotencyTtlMs;
      const now = yield* Clock.currentTimeMillis;
      return yield* write(
        (query, head) =>
          Effect.gen(function* () {
            const newest = yield* query<{ seq: number | null }>(`SELECT max(seq) AS seq FROM snapshots`);
            const snapSeq = newest[0]?.seq;
            const cut = snapSeq === null || snapSeq === undefined ? 0 : Math.min(Number(snapSeq), head.last_seq) - keepTail;
            let eventsDeleted = 0;
            let snapshotsDeleted = 0;
            if (cut > head.compacted_through) {
              eventsDeleted = yield* count(query, `SELECT count(*) AS n FROM events WHERE seq <= $1`, [cut]);
              yield* query(`DELETE FROM events WHERE seq <= $1`, [cut]);
              // Snapshots older than the cut cannot be replayed from any more.
              snapshotsDeleted = yield* count(query, `SELECT count(*) AS n FROM snapshots WHERE seq < $1`, [cut]);
              yield* query(`DELETE FROM snapshots WHERE seq < $1`, [cut]);
              yield* query(`UPDATE store_head SET compacted_through = $1 WHERE id = 1`, [cut]);
            }
            const keysDeleted = yield* count(query, `SELECT count(*) AS n FROM idempotency_keys WHERE created_at < $1`, [now - ttl]);
            yield* query(`DELETE FROM idempotency_keys WHERE created_at < $1`, [now - ttl]);
            return { eventsDeleted, snapshotsDeleted, keysDeleted, compactedThrough: Math.max(cut, head.compacted_through) } satisfies CompactResult;
          }),
        { idempotent: true },
      );
    });

  const getConfig: StoreShape["getConfig"] = (key) =>
    Effect.gen(function* () {
      const rows = yield* retryTransient(driver.query<{ value: unknown }>(`SELECT value FROM config WHERE key = $1`, [key]));
      return rows.length === 0 ? Option.none() : Option.some(yield* json(`config ${key}`, rows[0].value));
    });

  const putConfig: StoreShape["putConfig"] = (key, value) =>
    Effect.gen(function* () {
      const text = yield* encodeJson(`config ${key}`, value);
      const now = yield* Clock.currentTimeMillis;
      yield* write(
        (query) =>
          query(
            `INSERT INTO config (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
            [key, text, now],
          ),
        { idempotent: true },
      );
    });

  const deleteConfig: StoreShape["deleteConfig"] = (key) =>
    write(
      (query) =>
        Effect.gen(function* () {
          const existed = (yield* count(query, `SELECT count(*) AS n FROM config WHERE key = $1`, [key])) > 0;
          yield* query(`DELETE FROM config WHERE key = $1`, [key]);
          return existed;
        }),
      { idempotent: true },
    );

  const listConfig: StoreShape["listConfig"] = (prefix = "") =>
    Effect.gen(function* () {
      const rows = yield* retryTransient(driver.query<{ key: string; value: unknown }>(`SELECT key, value FROM config ORDER BY key`));
      const out = new Map<string, unknown>();
      for (const row of rows) if (row.key.startsWith(prefix)) out.set(row.key, yield* json(`config ${row.key}`, row.value));
      return out;
    });

  return {
    dialect: d.name,
    append,
    readFrom,
    stream,
    headSeq: retryTransient(Effect.map(driver.query<{ last_seq: number }>(`SELECT last_seq FROM store_head WHERE id = 1`), (rows) => Number(rows[0]?.last_seq ?? 0))),
    saveSnapshot,
    latest,
    compact,
    getConfig,
    putConfig,
    deleteConfig,
    listConfig,
    schemaVersion: retryTransient(Effect.map(driver.query<{ v: number | null }>(`SELECT max(version) AS v FROM schema_migrations`), (rows) => Number(rows[0]?.v ?? 0))),
    leadership: control.leadership,
  };
};
