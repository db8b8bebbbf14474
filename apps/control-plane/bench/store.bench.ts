// Appends per second on the store's two databases, side by side: one event per transaction
// (each one fsync'd: what an API call costs) and batches of 100. Run: npx tsx apps/control-plane/bench/store.bench.ts
// PostgreSQL: BERTH_TEST_PG_URL, or scripts/ci/start-postgres.sh starts a local one.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Effect, Layer } from "effect";
import { Store, type StoreError } from "../src/store/index.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const pgUrl = process.env.BERTH_TEST_PG_URL ?? execFileSync(join(repoRoot, "scripts/ci/start-postgres.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
const schema = `bench_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "berth-bench-"));

interface Row {
  readonly store: string;
  readonly mode: string;
  readonly events: number;
  readonly seconds: number;
}

const event = (i: number) => ({ type: "LeaseRenewed", at: 1_700_000_000_000 + i, lease: `lease-${i % 500}`, owner: "bench", until: 1_700_000_600_000 + i });

const measure = (store: string, layer: Layer.Layer<Store, StoreError>, single: number, batches: number, batchSize: number) =>
  Effect.gen(function* () {
    const s = yield* Store;
    yield* s.leadership.awaitLeader;
    yield* s.append([event(0)]); // warm up the connection and statements
    const rows: Row[] = [];
    let t = performance.now();
    for (let i = 0; i < single; i++) yield* s.append([event(i)]);
    rows.push({ store, mode: "1 event/txn", events: single, seconds: (performance.now() - t) / 1000 });
    t = performance.now();
    yield* Effect.all(Array.from({ length: single }, (_, i) => s.append([event(i)])), { concurrency: 8 });
    rows.push({ store, mode: "1 event/txn, 8 concurrent", events: single, seconds: (performance.now() - t) / 1000 });
    t = performance.now();
    for (let b = 0; b < batches; b++) yield* s.append(Array.from({ length: batchSize }, (_, i) => event(b * batchSize + i)));
    rows.push({ store, mode: `${batchSize} events/txn`, events: batches * batchSize, seconds: (performance.now() - t) / 1000 });
    return rows;
  }).pipe(Effect.provide(layer));

const main = Effect.gen(function* () {
  const sqlite = yield* measure("SQLite (WAL, synchronous=FULL)", Store.layerSqlite({ path: join(dir, "bench.db") }), 500, 50, 100);
  const postgres = yield* measure("PostgreSQL 127.0.0.1 (synchronous_commit=on)", Store.layerPostgres({ url: pgUrl, schema }), 500, 50, 100);
  const rows = [...sqlite, ...postgres];
  const rate = (r: Row) => r.events / r.seconds;
  console.log(`${"store".padEnd(46)} ${"mode".padEnd(28)} ${"events".padStart(7)} ${"appends/s".padStart(10)} ${"ms/txn".padStart(8)}`);
  for (const r of rows) {
    const txns = r.mode.startsWith("1 ") ? r.events : r.events / 100;
    console.log(`${r.store.padEnd(46)} ${r.mode.padEnd(28)} ${String(r.events).padStart(7)} ${rate(r).toFixed(0).padStart(10)} ${((r.seconds * 1000) / txns).toFixed(2).padStart(8)}`);
  }
  const find = (rs: Row[], mode: string) => rate(rs.find((r) => r.mode === mode)!);
  console.log(
    `headline: single-event appends/s SQLite ${find(sqlite, "1 event/txn").toFixed(0)} vs PostgreSQL ${find(postgres, "1 event/txn").toFixed(0)}; ` +
      `batched (100/txn) events/s SQLite ${find(sqlite, "100 events/txn").toFixed(0)} vs PostgreSQL ${find(postgres, "100 events/txn").toFixed(0)}`,
  );
});

Effect.runPromise(main)
  .finally(async () => {
    rmSync(dir, { recursive: true, force: true });
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
