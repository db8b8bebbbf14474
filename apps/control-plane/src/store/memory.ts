import { Chunk, Clock, Effect, Option, Stream } from "effect";
import { storeDefaults } from "./defaults.js";
import { encodeEvents, encodeJson, fingerprint } from "./encode.js";
import { storeError } from "./errors.js";
import { soleLeader } from "./leader-control.js";
import { latestVersion, migrations } from "./migrations.js";
import type { Snapshot, StoredEvent, StoreShape } from "./types.js";

export interface MemoryStoreOptions {
  readonly keepTail?: number;
  readonly idempotencyTtlMs?: number;
}

/**
 * The store in process memory, for other components' tests: the same contract as the SQL
 * stores (the shared contract suite runs against all three), nothing survives the process.
 * Values are copied through JSON on the way in and out, as a database would.
 */
export const makeMemoryStore = (options: MemoryStoreOptions = {}): Effect.Effect<StoreShape> =>
  Effect.gen(function* () {
    const control = yield* soleLeader("memory", 1);
    const events: StoredEvent[] = [];
    let compactedThrough = 0;
    let headSeq = 0;
    const snapshots = new Map<number, { readonly json: string; readonly takenAt: number }>();
    const keys = new Map<string, { readonly print: string; readonly firstSeq: number; readonly lastSeq: number; readonly createdAt: number }>();
    const config = new Map<string, string>();
    const copy = (e: StoredEvent): StoredEvent => ({ ...e, event: JSON.parse(JSON.stringify(e.event)) as StoredEvent["event"] });
    const validSeq = (what: string, seq: number) =>
      Number.isSafeInteger(seq) && seq >= 0 ? Effect.succeed(seq) : Effect.fail(storeError("Invalid", `${what} must be a whole number >= 0, got ${seq}`));
    const newestSnapshot = (): number | undefined => (snapshots.size === 0 ? undefined : Math.max(...snapshots.keys()));

    const readFrom: StoreShape["readFrom"] = (fromSeq, readOptions = {}) =>
      Effect.gen(function* () {
        const from = Math.max(1, yield* validSeq("fromSeq", fromSeq));
        if (from <= compactedThrough) {
          return yield* Effect.fail(storeError("Compacted", `events up to ${compactedThrough} were compacted away; read ${from} is gone (recover from the latest snapshot)`));
        }
        // events[i] holds seq compactedThrough + 1 + i.
        const start = from - compactedThrough - 1;
        return events.slice(start, start + (readOptions.limit ?? 1000)).map(copy);
      });

    const store: StoreShape = {
      dialect: "memory",
      append: (input, appendOptions = {}) =>
        Effect.gen(function* () {
          const encoded = yield* encodeEvents(input);
          yield* control.writeEpoch;
          const now = yield* Clock.currentTimeMillis;
          const print = fingerprint(encoded);
          const key = appendOptions.idempotencyKey;
          const seen = key === undefined ? undefined : keys.get(key);
          if (seen !== undefined) {
            if (seen.print !== print) return yield* Effect.fail(storeError("Conflict", `idempotency key "${key}" was used before for different events`));
            return { firstSeq: seen.firstSeq, lastSeq: seen.lastSeq, duplicate: true };
          }
          const firstSeq = headSeq + 1;
          encoded.forEach((e, i) => events.push({ seq: firstSeq + i, epoch: 1, recordedAt: now, event: JSON.parse(e.json) as StoredEvent["event"] }));
          headSeq += encoded.length;
          if (key !== undefined) keys.set(key, { print, firstSeq, lastSeq: headSeq, createdAt: now });
          return { firstSeq, lastSeq: headSeq, duplicate: false };
        }),
      readFrom,
      stream: (fromSeq, streamOptions = {}) => {
        const batchSize = Math.max(1, streamOptions.batchSize ?? 500);
        return Stream.paginateChunkEffect(fromSeq, (cursor) =>
          Effect.map(readFrom(cursor, { limit: batchSize }), (batch) => [
            Chunk.fromIterable(batch),
            batch.length < batchSize ? Option.none<number>() : Option.some(batch[batch.length - 1].seq + 1),
          ]),
        );
      },
      headSeq: Effect.sync(() => headSeq),
      saveSnapshot: (seq, state) =>
        Effect.gen(function* () {
          yield* validSeq("snapshot seq", seq);
          const json = yield* encodeJson("snapshot state", state);
          yield* control.writeEpoch;
          if (seq > headSeq) return yield* Effect.fail(storeError("Conflict", `snapshot at seq ${seq} is beyond the head of the log (${headSeq})`));
          snapshots.set(seq, { json, takenAt: yield* Clock.currentTimeMillis });
        }),
      latest: Effect.sync(() => {
        const seq = newestSnapshot();
        const snapshot: Option.Option<Snapshot> =
          seq === undefined ? Option.none() : Option.some({ seq, state: JSON.parse(snapshots.get(seq)!.json) as unknown, takenAt: snapshots.get(seq)!.takenAt });
        const from = (seq ?? 0) + 1;
        return { snapshot, events: events.filter((e) => e.seq >= from).map(copy), headSeq };
      }),
      compact: (compactOptions = {}) =>
        Effect.gen(function* () {
          yield* control.writeEpoch;
          const keepTail = Math.max(0, compactOptions.keepTail ?? options.keepTail ?? storeDefaults.keepTail);
          const ttl = compactOptions.idempotencyTtlMs ?? options.idempotencyTtlMs ?? storeDefaults.idempotencyTtlMs;
          const now = yield* Clock.currentTimeMillis;
          const snap = newestSnapshot();
          const cut = snap === undefined ? 0 : Math.min(snap, headSeq) - keepTail;
          let eventsDeleted = 0;
          let snapshotsDeleted = 0;
          if (cut > compactedThrough) {
            eventsDeleted = cut - compactedThrough;
            events.splice(0, eventsDeleted);
            for (const s of [...snapshots.keys()]) if (s < cut) (snapshots.delete(s), snapshotsDeleted++);
            compactedThrough = cut;
          }
          let keysDeleted = 0;
          for (const [k, v] of [...keys]) if (v.createdAt < now - ttl) (keys.delete(k), keysDeleted++);
          return { eventsDeleted, snapshotsDeleted, keysDeleted, compactedThrough };
        }),
      getConfig: (key) => Effect.sync(() => Option.map(Option.fromNullable(config.get(key)), (json) => JSON.parse(json) as unknown)),
      putConfig: (key, value) =>
        Effect.gen(function* () {
          const json = yield* encodeJson(`config ${key}`, value);
          yield* control.writeEpoch;
          config.set(key, json);
        }),
      deleteConfig: (key) => Effect.zipRight(control.writeEpoch, Effect.sync(() => config.delete(key))),
      listConfig: (prefix = "") =>
        Effect.sync(
          () => new Map([...config.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, JSON.parse(v) as unknown])),
        ),
      schemaVersion: Effect.succeed(latestVersion(migrations)),
      leadership: control.leadership,
    };
    return store;
  });
