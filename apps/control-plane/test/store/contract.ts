import { describe, expect, it } from "@effect/vitest";
import { Chunk, Effect, Either, Layer, Option, Stream, TestClock } from "effect";
import fc from "fast-check";
import { Store, type StoreError, type StoreEvent } from "../../src/store/index.js";

/** A fresh, empty store per call. */
export type StoreFactory = () => Layer.Layer<Store, StoreError>;

const ev = (n: number, type = "LeaseRequested"): StoreEvent & { n: number; lease: string } => ({ type, at: 1_000 + n, n, lease: `lease-${n}` });
const evs = (from: number, count: number) => Array.from({ length: count }, (_, i) => ev(from + i));

const reasonOf = <A>(effect: Effect.Effect<A, StoreError>) =>
  Effect.map(Effect.either(effect), (result) => (Either.isLeft(result) ? result.left.reason : "succeeded"));

/**
 * The behaviour every Store layer shares. Each layer's test file runs it, so the memory store
 * that other components test against behaves like the databases berthd runs on.
 */
export const storeContract = (makeStore: StoreFactory, options: { readonly propertyRuns: number }) => {
  const run = <A>(body: (store: Store["Type"]) => Effect.Effect<A, StoreError>) =>
    Effect.flatMap(Store, body).pipe(Effect.provide(makeStore()));

  describe("store contract", () => {
    it.effect("starts empty and leads", () =>
      run((store) =>
        Effect.gen(function* () {
          expect(yield* store.headSeq).toBe(0);
          const recovery = yield* store.latest;
          expect(Option.isNone(recovery.snapshot)).toBe(true);
          expect(recovery.events).toEqual([]);
          expect(recovery.headSeq).toBe(0);
          expect(yield* store.readFrom(1)).toEqual([]);
          const epoch = yield* store.leadership.awaitLeader;
          expect(epoch).toBeGreaterThanOrEqual(1);
          expect(yield* store.leadership.current).toEqual({ role: "leader", epoch });
        }),
      ),
    );

    it.effect("appends in gap-free order, batches atomically, and reads back exactly", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          yield* TestClock.setTime(42_000);
          expect(yield* store.append([ev(1)])).toEqual({ firstSeq: 1, lastSeq: 1, duplicate: false });
          expect(yield* store.append(evs(2, 4))).toEqual({ firstSeq: 2, lastSeq: 5, duplicate: false });
          const nested = { type: "ServerObserved", at: 1.5, server: { id: "s1", gpus: [0, 1], note: null, ok: true, name: "ü\u0000\"'" } };
          expect(yield* store.append([nested])).toEqual({ firstSeq: 6, lastSeq: 6, duplicate: false });
          const all = yield* store.readFrom(1);
          expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
          expect(all.slice(0, 5).map((e) => e.event)).toEqual(evs(1, 5));
          expect(all[5].event).toEqual(nested);
          expect(all.every((e) => e.recordedAt === 42_000)).toBe(true);
          const epoch = yield* store.leadership.awaitLeader;
          expect(all.every((e) => e.epoch === epoch)).toBe(true);
          expect((yield* store.readFrom(3, { limit: 2 })).map((e) => e.seq)).toEqual([3, 4]);
          expect(yield* store.readFrom(7)).toEqual([]);
          expect(yield* store.headSeq).toBe(6);
        }),
      ),
    );

    it.effect("streams the whole log across batch boundaries", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          yield* store.append(evs(1, 10));
          const seqs = yield* Stream.runCollect(store.stream(2, { batchSize: 3 }));
          expect(Chunk.toReadonlyArray(seqs).map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
          const exact = yield* Stream.runCollect(store.stream(1, { batchSize: 5 }));
          expect(Chunk.size(exact)).toBe(10);
        }),
      ),
    );

    it.effect("recognises a retried request by its idempotency key", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          const first = yield* store.append(evs(1, 3), { idempotencyKey: "req-1" });
          yield* store.append([ev(4)]);
          const again = yield* store.append(evs(1, 3), { idempotencyKey: "req-1" });
          expect(again).toEqual({ firstSeq: first.firstSeq, lastSeq: first.lastSeq, duplicate: true });
          expect(yield* store.headSeq).toBe(4);
          expect(yield* reasonOf(store.append(evs(7, 3), { idempotencyKey: "req-1" }))).toBe("Conflict");
          expect(yield* store.headSeq).toBe(4);
          expect(yield* store.append(evs(1, 3), { idempotencyKey: "req-2" })).toEqual({ firstSeq: 5, lastSeq: 7, duplicate: false });
        }),
      ),
    );

    it.effect("refuses what it cannot keep, and writes nothing", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          expect(yield* reasonOf(store.append([]))).toBe("Invalid");
          expect(yield* reasonOf(store.append([{ type: "", at: 1 }]))).toBe("Invalid");
          expect(yield* reasonOf(store.append([ev(1), { type: "X", at: Number.NaN }]))).toBe("Invalid");
          expect(yield* reasonOf(store.append([{ type: "X", at: 1, big: 1n }]))).toBe("Invalid");
          expect(yield* reasonOf(store.saveSnapshot(0, { big: 1n }))).toBe("Invalid");
          expect(yield* reasonOf(store.append([{ type: "X", at: 1, until: Infinity }]))).toBe("Invalid");
          expect(yield* reasonOf(store.saveSnapshot(0, { nested: [{ until: -Infinity }] }))).toBe("Invalid");
          expect(yield* reasonOf(store.putConfig("k", Number.NaN))).toBe("Invalid");
          expect(yield* reasonOf(store.readFrom(-1))).toBe("Invalid");
          expect(yield* reasonOf(store.saveSnapshot(1.5, {}))).toBe("Invalid");
          expect(yield* store.headSeq).toBe(0);
        }),
      ),
    );

    it.effect("recovers from the newest snapshot and the events after it", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          yield* store.append(evs(1, 5));
          expect(yield* reasonOf(store.saveSnapshot(6, { count: 6 }))).toBe("Conflict");
          yield* TestClock.setTime(7_000);
          yield* store.saveSnapshot(3, { count: 3, leases: { "lease-1": { phase: "Ready" } } });
          yield* store.saveSnapshot(2, { count: 2 });
          const recovery = yield* store.latest;
          expect(Option.getOrThrow(recovery.snapshot)).toEqual({ seq: 3, state: { count: 3, leases: { "lease-1": { phase: "Ready" } } }, takenAt: 7_000 });
          expect(recovery.events.map((e) => e.seq)).toEqual([4, 5]);
          expect(recovery.headSeq).toBe(5);
          yield* store.saveSnapshot(5, { count: 5 });
          const atHead = yield* store.latest;
          expect(atHead.events).toEqual([]);
          expect(Option.getOrThrow(atHead.snapshot).state).toEqual({ count: 5 });
          // Saving the same seq again replaces it (a recomputed snapshot).
          yield* store.saveSnapshot(5, { count: 5, again: true });
          expect(Option.getOrThrow((yield* store.latest).snapshot).state).toEqual({ count: 5, again: true });
        }),
      ),
    );

    it.effect("compacts events before the newest snapshot, keeping a tail", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          yield* store.append(evs(1, 20));
          expect(yield* store.compact({ keepTail: 0 })).toEqual({ eventsDeleted: 0, snapshotsDeleted: 0, keysDeleted: 0, compactedThrough: 0 });
          yield* store.saveSnapshot(5, { count: 5 });
          yield* store.saveSnapshot(15, { count: 15 });
          expect(yield* store.compact({ keepTail: 4 })).toEqual({ eventsDeleted: 11, snapshotsDeleted: 1, keysDeleted: 0, compactedThrough: 11 });
          expect(yield* reasonOf(store.readFrom(11))).toBe("Compacted");
          expect(yield* reasonOf(Stream.runDrain(store.stream(1)))).toBe("Compacted");
          expect((yield* store.readFrom(12)).map((e) => e.seq)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20]);
          const recovery = yield* store.latest;
          expect(Option.getOrThrow(recovery.snapshot).seq).toBe(15);
          expect(recovery.events.map((e) => e.seq)).toEqual([16, 17, 18, 19, 20]);
          // Again with nothing new to cut: a no-op.
          expect(yield* store.compact({ keepTail: 4 })).toEqual({ eventsDeleted: 0, snapshotsDeleted: 0, keysDeleted: 0, compactedThrough: 11 });
          // Appends continue after the compacted prefix.
          expect(yield* store.append([ev(21)])).toEqual({ firstSeq: 21, lastSeq: 21, duplicate: false });
        }),
      ),
    );

    it.effect("forgets idempotency keys after their time to live", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          yield* TestClock.setTime(1_000_000);
          yield* store.append([ev(1)], { idempotencyKey: "old" });
          yield* TestClock.adjust("2 hours");
          yield* store.append([ev(2)], { idempotencyKey: "new" });
          expect((yield* store.compact({ idempotencyTtlMs: 60 * 60 * 1000 })).keysDeleted).toBe(1);
          expect((yield* store.append([ev(2)], { idempotencyKey: "new" })).duplicate).toBe(true);
          expect(yield* store.append([ev(1)], { idempotencyKey: "old" })).toEqual({ firstSeq: 3, lastSeq: 3, duplicate: false });
        }),
      ),
    );

    it.effect("keeps configuration as JSON by key", () =>
      run((store) =>
        Effect.gen(function* () {
          yield* store.leadership.awaitLeader;
          expect(Option.isNone(yield* store.getConfig("allowlist/images"))).toBe(true);
          yield* store.putConfig("allowlist/images", ["nvcr.io/nvidia/tritonserver:24.08-py3"]);
          yield* store.putConfig("allowlist/repositories", { s3: true });
          yield* store.putConfig("placement/policy", "most-allocated");
          yield* store.putConfig("allowlist/images", ["a", "b"]);
          expect(Option.getOrThrow(yield* store.getConfig("allowlist/images"))).toEqual(["a", "b"]);
          expect([...(yield* store.listConfig("allowlist/")).entries()]).toEqual([
            ["allowlist/images", ["a", "b"]],
            ["allowlist/repositories", { s3: true }],
          ]);
          expect((yield* store.listConfig()).size).toBe(3);
          expect(yield* store.deleteConfig("placement/policy")).toBe(true);
          expect(yield* store.deleteConfig("placement/policy")).toBe(false);
          expect(Option.isNone(yield* store.getConfig("placement/policy"))).toBe(true);
        }),
      ),
    );

    it.effect("is at the newest schema version", () =>
      run((store) => Effect.map(store.schemaVersion, (v) => expect(v).toBe(3))),
    );

    it.effect("behaves like a model log under any sequence of operations", () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), (ops) => Effect.runPromise(checkAgainstModel(ops).pipe(Effect.provide(makeStore())))),
          { numRuns: options.propertyRuns },
        ),
      ),
    );
  });
};

type Operation =
  | { readonly op: "append"; readonly size: number; readonly key: string | undefined }
  | { readonly op: "snapshot"; readonly back: number }
  | { readonly op: "compact"; readonly keepTail: number }
  | { readonly op: "read"; readonly from: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("append" as const), size: fc.integer({ min: 1, max: 4 }), key: fc.option(fc.constantFrom("k1", "k2", "k3"), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("snapshot" as const), back: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("compact" as const), keepTail: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("read" as const), from: fc.integer({ min: 0, max: 40 }) }) },
);

/** Runs the operations on the store and on a plain array model, comparing every answer. */
const checkAgainstModel = (ops: ReadonlyArray<Operation>) =>
  Effect.gen(function* () {
    const store = yield* Store;
    yield* store.leadership.awaitLeader;
    const log: { seq: number; size: number; n: number }[] = [];
    const keys = new Map<string, { first: number; last: number; size: number; n: number }>();
    let snapshots: number[] = [];
    let compactedThrough = 0;
    let counter = 0;
    for (const o of ops) {
      if (o.op === "append") {
        const n = ++counter;
        const events = Array.from({ length: o.size }, (_, i) => ({ type: "E", at: n, n, i }));
        const seen = o.key === undefined ? undefined : keys.get(o.key);
        const result = yield* Effect.either(store.append(events, o.key === undefined ? {} : { idempotencyKey: o.key }));
        if (seen !== undefined) {
          // Same key, different events (n differs): a conflict, nothing written.
          expect(Either.isLeft(result) && result.left.reason).toBe("Conflict");
          continue;
        }
        const head = log.length === 0 ? compactedThrough : log[log.length - 1].seq;
        expect(Either.getOrThrow(result)).toEqual({ firstSeq: head + 1, lastSeq: head + o.size, duplicate: false });
        for (let i = 0; i < o.size; i++) log.push({ seq: head + 1 + i, size: o.size, n });
        if (o.key !== undefined) keys.set(o.key, { first: head + 1, last: head + o.size, size: o.size, n });
      } else if (o.op === "snapshot") {
        const head = log.length === 0 ? compactedThrough : log[log.length - 1].seq;
        const seq = Math.max(compactedThrough, head - o.back);
        yield* store.saveSnapshot(seq, { upTo: seq });
        snapshots = [...new Set([...snapshots, seq])];
      } else if (o.op === "compact") {
        const newest = snapshots.length === 0 ? undefined : Math.max(...snapshots);
        const cut = newest === undefined ? 0 : newest - o.keepTail;
        const result = yield* store.compact({ keepTail: o.keepTail });
        if (cut > compactedThrough) {
          expect(result.eventsDeleted).toBe(log.filter((e) => e.seq <= cut).length);
          log.splice(0, log.filter((e) => e.seq <= cut).length);
          snapshots = snapshots.filter((s) => s >= cut);
          compactedThrough = cut;
        } else {
          expect(result.eventsDeleted).toBe(0);
        }
        expect(result.compactedThrough).toBe(compactedThrough);
      } else {
        const got = yield* Effect.either(store.readFrom(o.from, { limit: 1000 }));
        if (Math.max(1, o.from) <= compactedThrough) {
          expect(Either.isLeft(got) && got.left.reason).toBe("Compacted");
        } else {
          expect(Either.getOrThrow(got).map((e) => [e.seq, (e.event as unknown as { n: number }).n])).toEqual(
            log.filter((e) => e.seq >= o.from).map((e) => [e.seq, e.n]),
          );
        }
      }
    }
    // Recovery sees the newest snapshot and exactly the events after it.
    const recovery = yield* store.latest;
    const newest = snapshots.length === 0 ? 0 : Math.max(...snapshots);
    expect(Option.match(recovery.snapshot, { onNone: () => 0, onSome: (s) => s.seq })).toBe(newest);
    expect(recovery.events.map((e) => e.seq)).toEqual(log.filter((e) => e.seq > newest).map((e) => e.seq));
    expect(recovery.headSeq).toBe(log.length === 0 ? compactedThrough : log[log.length - 1].seq);
  });
