import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "@effect/vitest";
import { Effect, Either, Layer, type Scope } from "effect";
import { migrations, Store, type Migration, type StoreError } from "../../src/store/index.js";
import { freshSchema, testPostgresUrl, withAdmin } from "./postgres-env.js";

/** Opens a store on one database again and again, and runs raw SQL on it between opens. */
interface Target {
  readonly name: string;
  readonly setup: Effect.Effect<{
    readonly open: (list?: ReadonlyArray<Migration>) => Layer.Layer<Store, StoreError>;
    readonly sql: (statement: string) => Effect.Effect<void>;
  }, never, Scope.Scope>;
}

const dir = mkdtempSync(join(tmpdir(), "berth-migrations-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const sqlite: Target = {
  name: "SQLite",
  setup: Effect.sync(() => {
    const path = join(dir, `m-${++n}.db`);
    return {
      open: (list) => Store.layerSqlite({ path, ...(list ? { migrations: list } : {}) }),
      sql: (statement) =>
        Effect.sync(() => {
          const db = new Database(path);
          try {
            db.exec(statement);
          } finally {
            db.close();
          }
        }),
    };
  }),
};

const postgres: Target = {
  name: "PostgreSQL",
  setup: Effect.gen(function* () {
    const url = testPostgresUrl();
    const schema = yield* freshSchema(url);
    return {
      open: (list) => Store.layerPostgres({ url, schema, ...(list ? { migrations: list } : {}) }),
      sql: (statement) => Effect.promise(() => withAdmin(url, (c) => c.query(`SET search_path = ${schema}; ${statement}`))).pipe(Effect.asVoid),
    };
  }),
};

const withStore = <A>(layer: Layer.Layer<Store, StoreError>, body: (store: Store["Type"]) => Effect.Effect<A, StoreError>) =>
  Effect.flatMap(Store, (store) => Effect.zipRight(store.leadership.awaitLeader, body(store))).pipe(Effect.provide(layer));

describe("migrations", () => {
  it("are numbered 1..n with distinct names", () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
  });

  for (const target of [sqlite, postgres]) {
    describe(target.name, () => {
      it.scoped("migrate on open, once, and carry data across versions", () =>
        Effect.gen(function* () {
          const db = yield* target.setup;
          // A store created by an older berthd that knew only the first migration...
          expect(yield* withStore(db.open(migrations.slice(0, 1)), (s) => s.schemaVersion)).toBe(1);
          yield* withStore(db.open(migrations.slice(0, 1)), (s) => s.append([{ type: "LeaseRequested", at: 1 }]));
          // ...is brought up to date by this one, its log intact.
          yield* withStore(db.open(), (s) =>
            Effect.gen(function* () {
              expect(yield* s.schemaVersion).toBe(migrations.length);
              expect((yield* s.readFrom(1)).map((e) => e.event)).toEqual([{ type: "LeaseRequested", at: 1 }]);
              expect(yield* s.append([{ type: "LeaseRenewed", at: 2 }], { idempotencyKey: "k" })).toEqual({ firstSeq: 2, lastSeq: 2, duplicate: false });
              yield* s.putConfig("a", 1);
            }),
          );
          // Opening again applies nothing and loses nothing.
          expect(yield* withStore(db.open(), (s) => s.headSeq)).toBe(2);
        }),
      );

      it.scoped("refuse a store migrated by a newer berthd", () =>
        Effect.gen(function* () {
          const db = yield* target.setup;
          yield* withStore(db.open(), (s) => s.append([{ type: "LeaseRequested", at: 1 }]));
          yield* db.sql(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${migrations.length + 1}, 'from the future', 0)`);
          const opened = yield* Effect.either(withStore(db.open(), (s) => s.headSeq));
          expect(Either.isLeft(opened) && opened.left.reason).toBe("NewerSchema");
          expect(Either.isLeft(opened) && opened.left.message).toContain(`schema version ${migrations.length + 1}`);
        }),
      );

      it.scoped("refuse a history that names a migration differently", () =>
        Effect.gen(function* () {
          const db = yield* target.setup;
          yield* withStore(db.open(), (s) => s.headSeq);
          yield* db.sql(`UPDATE schema_migrations SET name = 'something else' WHERE version = 2`);
          const opened = yield* Effect.either(withStore(db.open(), (s) => s.headSeq));
          expect(Either.isLeft(opened) && opened.left.reason).toBe("Corrupt");
        }),
      );

      it.scoped("detect a log that lost events behind the store's back", () =>
        Effect.gen(function* () {
          const db = yield* target.setup;
          yield* withStore(db.open(), (s) => s.append([1, 2, 3].map((i) => ({ type: "E", at: i }))));
          yield* db.sql(`DELETE FROM events WHERE seq = 2`);
          const recovered = yield* Effect.either(withStore(db.open(), (s) => s.latest));
          expect(Either.isLeft(recovered) && recovered.left.reason).toBe("Corrupt");
        }),
      );
    });
  }

  it.scoped("PostgreSQL: replicas starting together migrate once", () =>
    Effect.gen(function* () {
      const url = testPostgresUrl();
      const schema = yield* freshSchema(url);
      const versions = yield* Effect.all(
        Array.from({ length: 4 }, () => Effect.flatMap(Store, (s) => s.schemaVersion).pipe(Effect.provide(Store.layerPostgres({ url, schema })))),
        { concurrency: "unbounded" },
      );
      expect(versions).toEqual([3, 3, 3, 3]);
      const rows = yield* Effect.promise(() => withAdmin(url, (c) => c.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)));
      expect(rows.rows.map((r: { version: string }) => Number(r.version))).toEqual([1, 2, 3]);
    }),
  );
});
