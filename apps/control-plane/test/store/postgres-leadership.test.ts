import { describe, expect, it } from "@effect/vitest";
import { Context, Effect, Either, Layer, type Scope } from "effect";
import { Store, type StoreError } from "../../src/store/index.js";
import { LEADER_LOCK, schemaLockKey } from "../../src/store/postgres-driver.js";
import { freshSchema, testPostgresUrl, withAdmin } from "./postgres-env.js";

const url = testPostgresUrl();
const timing = { pollIntervalMs: 50, heartbeatIntervalMs: 100, stepDownBackoffMs: 600 };

const replica = (schema: string, name: string): Effect.Effect<Store["Type"], StoreError, Scope.Scope> =>
  Effect.map(Layer.build(Store.layerPostgres({ url, schema, replica: name, ...timing })), (ctx) => Context.get(ctx, Store));

/** The backend holding the leader lock of a schema, found the way an operator would: pg_locks. */
const lockHolder = (schema: string) =>
  Effect.promise(() =>
    withAdmin(url, (c) =>
      c.query<{ pid: number; application_name: string }>(
        `SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2`,
        [LEADER_LOCK, schemaLockKey(schema) >>> 0],
      ),
    ),
  ).pipe(Effect.map((r) => r.rows));

const reasonOf = <A>(effect: Effect.Effect<A, StoreError>) =>
  Effect.map(Effect.either(effect), (result) => (Either.isLeft(result) ? result.left.reason : "succeeded"));

const within = <A, E>(ms: number, what: string, effect: Effect.Effect<A, E>) =>
  Effect.timeoutFail(effect, { duration: `${ms} millis`, onTimeout: () => new Error(`${what} did not happen within ${ms} ms`) });

describe("Store.layerPostgres leadership (a real PostgreSQL)", () => {
  it.scopedLive("one replica leads; when its lock connection dies another takes over and the old one is fenced", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema(url);
      const a = yield* replica(schema, "a");
      const epochA = yield* within(5000, "a leading", a.leadership.awaitLeader);
      const b = yield* replica(schema, "b");
      yield* Effect.sleep("300 millis"); // several polls of b's
      expect(yield* b.leadership.current).toEqual({ role: "follower" });
      expect(yield* reasonOf(b.append([{ type: "E", at: 1 }]))).toBe("Fenced");
      yield* a.append([{ type: "E", at: 1 }, { type: "E", at: 2 }]);
      // Followers read: they stand by warm.
      expect((yield* b.readFrom(1)).map((e) => e.seq)).toEqual([1, 2]);

      const holders = yield* lockHolder(schema);
      expect(holders.map((h) => h.application_name)).toEqual(["berthd-leader:a"]);
      yield* Effect.promise(() => withAdmin(url, (c) => c.query(`SELECT pg_terminate_backend($1)`, [holders[0].pid])));

      const epochB = yield* within(5000, "b taking over", b.leadership.awaitLeader);
      expect(epochB).toBe(epochA + 1);
      expect(yield* reasonOf(a.append([{ type: "E", at: 3 }]))).toBe("Fenced");
      expect(yield* a.leadership.current).toEqual({ role: "follower" });
      expect(yield* b.append([{ type: "E", at: 3 }])).toEqual({ firstSeq: 3, lastSeq: 3, duplicate: false });
      expect((yield* b.readFrom(1)).map((e) => e.epoch)).toEqual([epochA, epochA, epochB]);
      expect((yield* lockHolder(schema)).map((h) => h.application_name)).toEqual(["berthd-leader:b"]);
    }),
  );

  it.scopedLive("a leader deposed without noticing is fenced by the epoch, steps down, and may lead again", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema(url);
      const a = yield* replica(schema, "a");
      const epoch = yield* within(5000, "a leading", a.leadership.awaitLeader);
      yield* a.append([{ type: "E", at: 1 }]);
      // A takeover a never saw (its lock connection still looks alive to it).
      yield* Effect.promise(() => withAdmin(url, (c) => c.query(`UPDATE ${schema}.store_head SET epoch = epoch + 1, leader = 'elsewhere'`)));
      expect(yield* reasonOf(a.append([{ type: "E", at: 2 }]))).toBe("Fenced");
      expect(yield* a.leadership.current).toEqual({ role: "follower" });
      // It released the lock on stepping down, and with no one else campaigning it wins again.
      const again = yield* within(5000, "a leading again", a.leadership.awaitLeader);
      expect(again).toBe(epoch + 2);
      expect(yield* a.append([{ type: "E", at: 2 }])).toEqual({ firstSeq: 2, lastSeq: 2, duplicate: false });
      expect(yield* a.headSeq).toBe(2);
    }),
  );

  it.scopedLive("closing the leader hands over at once", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema(url);
      const b = yield* replica(schema, "b");
      yield* Effect.scoped(
        Effect.gen(function* () {
          const a = yield* replica(schema, "a");
          yield* within(5000, "someone leading", Effect.race(a.leadership.awaitLeader, b.leadership.awaitLeader));
        }),
      );
      yield* within(2000, "b leading", b.leadership.awaitLeader);
    }),
  );

  it.scopedLive("concurrent appends from the leader get gap-free, unique sequence numbers", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema(url);
      const a = yield* replica(schema, "a");
      yield* a.leadership.awaitLeader;
      const results = yield* Effect.all(
        Array.from({ length: 40 }, (_, i) => a.append(Array.from({ length: 1 + (i % 3) }, (_, j) => ({ type: "E", at: i, i, j })))),
        { concurrency: 8 },
      );
      const seqs = results.flatMap((r) => Array.from({ length: r.lastSeq - r.firstSeq + 1 }, (_, k) => r.firstSeq + k)).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
      const log = yield* a.readFrom(1, { limit: 1000 });
      for (const r of results) {
        const batch = log.filter((e) => e.seq >= r.firstSeq && e.seq <= r.lastSeq).map((e) => e.event as unknown as { i: number; j: number });
        expect(new Set(batch.map((e) => e.i)).size).toBe(1);
        expect(batch.map((e) => e.j)).toEqual(batch.map((_, k) => k));
      }
    }),
  );
});
