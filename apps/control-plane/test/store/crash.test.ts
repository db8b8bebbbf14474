import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "@effect/vitest";
import { Effect, Layer, Option, type Scope } from "effect";
import { Store, type StoreError, type StoredEvent } from "../../src/store/index.js";
import { foldProbe, type ProbeState } from "./crash-probe.js";
import { freshSchema, testPostgresUrl } from "./postgres-env.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = resolve(here, "../../../..");
const child = join(here, "crash-child.ts");

interface Ack {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly round: number;
  readonly batch: number;
}

/** Seeded, so a failing run can be replayed: the seed is in the test's name. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** Starts the child, lets it append for `runMs` after it is ready, kill -9's it, returns what it acknowledged. */
const runAndKill = (args: ReadonlyArray<string>, runMs: number): Promise<{ acks: Ack[]; stderr: string }> =>
  new Promise((resolveRun, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", child, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let stderr = "";
    let killer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (killer === undefined && out.includes("ready")) killer = setTimeout(() => proc.kill("SIGKILL"), runMs);
    });
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on("error", reject);
    proc.on("close", (_code, signal) => {
      clearTimeout(guard);
      if (killer !== undefined) clearTimeout(killer);
      if (signal !== "SIGKILL") return reject(new Error(`the child exited by itself (${_code}): ${stderr}`));
      const acks = out
        .split("\n")
        .filter((line) => line.startsWith("ack "))
        .map((line) => {
          const [, firstSeq, lastSeq, round, batch] = line.split(" ").map(Number);
          return { firstSeq, lastSeq, round, batch };
        });
      resolveRun({ acks, stderr });
    });
  });

/** Everything acknowledged is there, batches are whole, and recovery converges to the head. */
const verify = (layer: Layer.Layer<Store, StoreError>, acked: ReadonlyArray<Ack>) =>
  Effect.gen(function* () {
    const store = yield* Store;
    const recovery = yield* store.latest;
    const maxAcked = acked.reduce((m, a) => Math.max(m, a.lastSeq), 0);
    expect(recovery.headSeq).toBeGreaterThanOrEqual(maxAcked);
    // Recovery: the snapshot's state plus the events after it counts every event exactly once.
    const start: ProbeState = Option.match(recovery.snapshot, { onNone: () => ({ count: 0 }), onSome: (s) => s.state as ProbeState });
    expect(start.count).toBe(Option.match(recovery.snapshot, { onNone: () => 0, onSome: (s) => s.seq }));
    expect(recovery.events.reduce((s: ProbeState, e: StoredEvent) => foldProbe(s, e), start).count).toBe(recovery.headSeq);
    // Every acknowledged batch not yet compacted away is there, whole, where it was acknowledged.
    const oldest = recovery.snapshot.pipe(Option.map((s) => s.seq - 5), Option.getOrElse(() => 0));
    const retained = yield* store.readFrom(Math.max(1, oldest + 1), { limit: 1_000_000 });
    const bySeq = new Map(retained.map((e) => [e.seq, e.event as unknown as { round: number; batch: number; index: number; size: number }]));
    let checked = 0;
    for (const ack of acked) {
      if (ack.firstSeq <= oldest) continue;
      for (let seq = ack.firstSeq; seq <= ack.lastSeq; seq++) {
        expect(bySeq.get(seq)).toMatchObject({ round: ack.round, batch: ack.batch, index: seq - ack.firstSeq, size: ack.lastSeq - ack.firstSeq + 1 });
      }
      checked++;
    }
    // Unacknowledged batches (committed just before the kill) are whole too: a batch is atomic.
    const batches = new Map<string, number[]>();
    for (const e of retained) {
      const p = e.event as unknown as { round: number; batch: number };
      batches.set(`${p.round}/${p.batch}`, [...(batches.get(`${p.round}/${p.batch}`) ?? []), e.seq]);
    }
    for (const seqs of batches.values()) {
      if (seqs[0] === retained[0]?.seq) continue; // the oldest may be cut by compaction
      const size = (bySeq.get(seqs[0]) as { size: number }).size;
      expect(seqs.length).toBe(size);
    }
    return { head: recovery.headSeq, checked };
  }).pipe(Effect.provide(layer));

const crashRounds = (name: string, rounds: number, seed: number, target: Effect.Effect<{ layer: () => Layer.Layer<Store, StoreError>; args: (round: number, seed: number) => string[] }, never, Scope.Scope>) =>
  it.scopedLive(`${name}: kill -9 at random points loses nothing acknowledged (seed ${seed})`, () =>
    Effect.gen(function* () {
      const t = yield* target;
      const random = mulberry32(seed);
      const acked: Ack[] = [];
      let lastHead = 0;
      let batchesChecked = 0;
      for (let round = 1; round <= rounds; round++) {
        const runMs = 50 + Math.floor(random() * 400);
        const { acks, stderr } = yield* Effect.promise(() => runAndKill(t.args(round, Math.floor(random() * 2 ** 31)), runMs));
        expect(stderr).toBe("");
        acked.push(...acks);
        const { head, checked } = yield* verify(t.layer(), acked);
        expect(head).toBeGreaterThanOrEqual(lastHead);
        lastHead = head;
        batchesChecked += checked;
      }
      // The rounds did real work: many appends, several snapshots and compactions.
      expect(acked.length).toBeGreaterThan(rounds * 5);
      expect(batchesChecked).toBeGreaterThan(rounds);
    }),
  );

describe("crash safety", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-crash-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  crashRounds(
    "SQLite",
    4,
    20261124,
    Effect.sync(() => {
      const path = join(dir, "crash.db");
      return { layer: () => Store.layerSqlite({ path }), args: (round, seed) => ["sqlite", path, String(round), String(seed)] };
    }),
  );

  crashRounds(
    "PostgreSQL",
    3,
    424242,
    Effect.gen(function* () {
      const url = testPostgresUrl();
      const schema = yield* freshSchema(url);
      return { layer: () => Store.layerPostgres({ url, schema }), args: (round, seed) => ["postgres", url, schema, String(round), String(seed)] };
    }),
  );
});
