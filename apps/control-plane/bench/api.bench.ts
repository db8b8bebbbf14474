// npm run bench:api — berthd's lease API from the outside: a berthd child process (sim backend,
// so that only the control plane is measured), lease create+release with 32 calls in flight, on
// SQLite and on PostgreSQL; then berthd's RSS holding 10,000 leases. Headline last.
// Goals (the issue): >= 1,000 lease operations/s on SQLite; 10,000 leases in < 200 MB RSS.
// Knobs: BENCH_PAIRS (create+release pairs per store, default 1500), BENCH_CONCURRENCY (32),
// BENCH_LEASES (10000), BENCH_PHASES (sqlite,postgres,rss: run only some), BENCH_NODE_ARGS (for
// berthd's node in every phase, e.g. "--max-old-space-size=128" to see how much of the RSS is
// live heap, "--cpu-prof --cpu-prof-dir=/tmp/prof" for a profile of each berthd).
// BENCH_RUNTIME: "bundle" (default: berthd as one esbuild bundle, as the process backend runs
// the model server and sidecar; built into node_modules/.cache/berth/bundles when stale) or
// "tsx" (main.ts under tsx, as `npm start` runs it).
// PostgreSQL: BERTH_TEST_PG_URL, else scripts/ci/start-postgres.sh.
import { execFileSync } from "node:child_process";
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { defaultBundleLocation, ensureBundle } from "@berth/backends/process/bundle";
import pg from "pg";
import { collect, REPO_ROOT, spawnBerthd, tempDir, type BerthdProcess } from "../test/external/berthd-process.js";
import { closedLoop, createRelease, leaseSpec, quantile, type LoadResult } from "./api-load.js";

const PAIRS = Number(process.env.BENCH_PAIRS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const LEASES = Number(process.env.BENCH_LEASES ?? 10_000);
const PHASES = new Set((process.env.BENCH_PHASES ?? "sqlite,postgres,rss").split(","));
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
const RUNTIME = process.env.BENCH_RUNTIME ?? "bundle";
const MB = 1024 * 1024;

// Room for every lease on its own bespoke sim server: placement is measured, not a full node.
const config = (store: Record<string, unknown>) => ({
  backend: { kind: "sim", sim: { startup: "20ms", load: "20ms" } },
  store: { snapshotEvery: 200, ...store },
  nodes: [{ name: "n1", cpu: "100000", memory: "4096Ti", gpus: Array.from({ length: 8 }, () => ({ model: "A10", memory: "1Ti" })) }],
});

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** What one fsync'd commit costs on this disk: the floor under a call that commits alone. */
const fsyncMs = (dir: string): number => {
  const fd = openSync(join(dir, "fsync-probe"), "w");
  const rounds = 100;
  const t = performance.now();
  for (let i = 0; i < rounds; i++) {
    writeSync(fd, Buffer.alloc(4096, i));
    fsyncSync(fd);
  }
  const ms = (performance.now() - t) / rounds;
  closeSync(fd);
  return ms;
};

/** berthd's CPU time so far (user + system), from /proc: a figure the machine's load barely moves. */
const cpuSeconds = (pid: number): number => {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

interface Row {
  readonly store: string;
  readonly result: LoadResult;
  readonly cpu: number;
  readonly events: number | undefined;
}

const report = (store: string, r: LoadResult, events: number | undefined, cpu: number) => {
  const opsPerSecond = r.calls / r.seconds;
  console.log(
    `${store.padEnd(10)} ${fmt(r.calls)} lease ops (create+release, ${CONCURRENCY} in flight) in ${fmt(r.seconds, 1)} s: ${fmt(opsPerSecond)} ops/s; ` +
      `latency p50 ${fmt(quantile(r.latencies, 0.5), 1)} ms, p99 ${fmt(quantile(r.latencies, 0.99), 1)} ms` +
      // Every commit of the run, warm-up and start-up included: the API's own and the executor's (server up, models loaded).
      (events === undefined ? "" : `; ${fmt(events / (r.calls + 2 * WARM_PAIRS), 2)} store commits per API op`) +
      `; berthd CPU ${fmt((cpu * 1000) / r.calls, 2)} ms per op (${fmt(r.calls / cpu)} ops per CPU-second)`,
  );
  return opsPerSecond;
};

async function measure(store: string, berthd: BerthdProcess): Promise<{ result: LoadResult; cpu: number }> {
  const client = berthd.client({ callTimeoutMs: 60_000 });
  await closedLoop(WARM_PAIRS, CONCURRENCY, createRelease(client, `warm-${store}`));
  const cpu0 = cpuSeconds(berthd.pid);
  const result = await closedLoop(PAIRS, CONCURRENCY, createRelease(client, `bench-${store}`));
  return { result, cpu: cpuSeconds(berthd.pid) - cpu0 };
}

const WARM_PAIRS = 64;

async function sqliteRun(): Promise<Row> {
  const stateDir = tempDir("bench-api-sqlite");
  try {
    const berthd = await spawn({ stateDir, config: config({ kind: "sqlite" }), startTimeoutMs: 120_000, nodeArgs: NODE_ARGS });
    let measured: { result: LoadResult; cpu: number };
    try {
      measured = await measure("sqlite", berthd);
    } finally {
      await berthd.stop(30_000);
    }
    // berthd holds the file locked while it runs: its head seq is read after it stopped.
    const db = new Database(join(stateDir, "berth.db"), { readonly: true });
    const events = (db.prepare("SELECT last_seq FROM store_head WHERE id = 1").get() as { last_seq: number }).last_seq;
    db.close();
    return { store: "SQLite", ...measured, events };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function postgresRun(): Promise<Row> {
  const base = process.env.BERTH_TEST_PG_URL ?? execFileSync(join(REPO_ROOT, "scripts/ci/start-postgres.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  // berthd keeps its tables in the database's public schema: a database of its own for the run.
  const database = `berth_bench_${process.pid}`;
  const admin = new pg.Client(base);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(base);
  url.pathname = `/${database}`;
  const stateDir = tempDir("bench-api-pg");
  try {
    const berthd = await spawn({ stateDir, config: config({ kind: "postgres", url: url.toString() }), startTimeoutMs: 120_000, nodeArgs: NODE_ARGS });
    let measured: { result: LoadResult; cpu: number };
    try {
      measured = await measure("postgres", berthd);
    } finally {
      await berthd.stop(30_000);
    }
    const db = new pg.Client(url.toString());
    await db.connect();
    const events = Number((await db.query("SELECT last_seq FROM store_head WHERE id = 1")).rows[0]?.last_seq);
    await db.end();
    return { store: "PostgreSQL", ...measured, events };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function rssRun(): Promise<{ baseline: number; held: number; afterList: number; seconds: number; cpu: number }> {
  const stateDir = tempDir("bench-api-rss");
  try {
    const berthd = await spawn({ stateDir, config: config({ kind: "sqlite" }), startTimeoutMs: 120_000, nodeArgs: NODE_ARGS });
    try {
      const baseline = berthd.rssBytes();
      const cpu0 = cpuSeconds(berthd.pid);
      const client = berthd.client({ callTimeoutMs: 120_000 });
      const t = performance.now();
      let done = 0;
      await closedLoop(LEASES, CONCURRENCY, async (i, timed) => {
        await timed(() => collect(client.lease.create({ spec: leaseSpec(`held-${i}`) })));
        if (++done % 2000 === 0) console.log(`  ${fmt(done)} leases created, RSS ${fmt(berthd.rssBytes() / MB)} MB`);
      });
      const seconds = (performance.now() - t) / 1000;
      const cpu = cpuSeconds(berthd.pid) - cpu0;
      // Let the executor finish (sim servers up, models loaded) before reading the figure.
      await new Promise((r) => setTimeout(r, 3000));
      const held = berthd.rssBytes();
      // Every lease is there, read as a client at this scale reads them: a page at a time.
      const leases = await client.lease.listAll({}, { pageSize: 1000 });
      if (leases.length < LEASES) throw new Error(`berthd holds ${leases.length} leases, not ${LEASES}`);
      return { baseline, held, afterList: berthd.rssBytes(), seconds, cpu };
    } finally {
      await berthd.stop(30_000);
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const entry = RUNTIME === "tsx" ? undefined : await ensureBundle("berthd", defaultBundleLocation(REPO_ROOT));
const spawn = (options: Parameters<typeof spawnBerthd>[0]) => spawnBerthd({ ...options, ...(entry !== undefined ? { entry } : {}) });

const probeDir = tempDir("bench-fsync");
const fsync = fsyncMs(probeDir);
rmSync(probeDir, { recursive: true, force: true });
console.log(`berthd API benchmark: ${PAIRS} create+release pairs per store, ${CONCURRENCY} calls in flight, sim backend, berthd from ${entry ?? "tsx"}; fsync on this disk ${fmt(fsync, 2)} ms`);

const sqlite = PHASES.has("sqlite") ? await sqliteRun() : undefined;
const sqliteOps = sqlite === undefined ? NaN : report("SQLite", sqlite.result, sqlite.events, sqlite.cpu);
const postgres = PHASES.has("postgres") ? await postgresRun() : undefined;
const pgOps = postgres === undefined ? NaN : report("PostgreSQL", postgres.result, postgres.events, postgres.cpu);
const rss = PHASES.has("rss") ? await rssRun() : undefined;
if (rss !== undefined) console.log(`RSS: ${fmt(rss.baseline / MB)} MB idle, ${fmt(rss.held / MB)} MB holding ${fmt(LEASES)} leases, ${fmt(rss.afterList / MB)} MB after listing them in pages of 1,000 (created in ${fmt(rss.seconds, 1)} s, ${fmt(LEASES / rss.seconds)} creates/s; berthd CPU ${fmt(rss.cpu, 1)} s, ${fmt((rss.cpu * 1000) / LEASES, 2)} ms per create)`);
const rssMb = rss === undefined ? NaN : rss.held / MB;
const figure = (n: number) => (Number.isNaN(n) ? "not run" : fmt(n));
const goal = (n: number, met: boolean) => (Number.isNaN(n) ? "" : met ? " (goal met)" : " (goal NOT met)");
console.log(
  `headline: lease ops/s SQLite ${figure(sqliteOps)}${goal(sqliteOps, sqliteOps >= 1000)} [goal >= 1,000], PostgreSQL ${figure(pgOps)}; ` +
    (Number.isNaN(rssMb) ? "RSS not run" : `${fmt(LEASES)} leases in ${fmt(rssMb)} MB RSS${goal(rssMb, rssMb < 200)} [goal < 200 MB]`),
);
