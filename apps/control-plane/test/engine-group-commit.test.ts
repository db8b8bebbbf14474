import { it } from "@effect/vitest";
import { Effect, Either, Layer } from "effect";
import { expect } from "vitest";
import { decide, validateLeaseSpec, type Event } from "@berth/core";
import { BerthdConfig } from "../src/config/config.js";
import { loadConfig } from "../src/config/load.js";
import { Engine, type Submitted } from "../src/engine/engine.js";
import { storeError, type StoreError } from "../src/store/errors.js";
import { makeMemoryStore } from "../src/store/memory.js";
import { Store } from "../src/store/store.js";
import type { StoreShape } from "../src/store/types.js";

// Group commit: calls that arrive together are decided in order and stored in one transaction;
// each caller hears back only once its event is durable, and a failed write loses no state.

const config = Effect.runSync(loadConfig({ inline: { store: { kind: "memory" } }, env: {}, cwd: "/tmp" }));
const node = { name: "n1", cpu: 8000, memory: 16 * 2 ** 30, state: "Ready" as const, gpus: [{ index: 0, model: "A10", memory: 8 * 2 ** 30 }] };
const specNamed = (name: string) =>
  Either.getOrThrow(validateLeaseSpec({ name, models: ["simple@demo"], resources: { gpuMemory: "64Mi" }, minDuration: "1h" }));
const requested = (i: number, name = `lease-${i}`): Event => ({ _tag: "LeaseRequested", at: 10 + i, id: `l-${i}`, spec: specNamed(name) });

/** A memory store that counts its appends and fails them while `failing` says so. */
const countingStore = Effect.gen(function* () {
  const inner = yield* makeMemoryStore();
  const counts = { appends: 0, failing: false };
  const store: StoreShape = {
    ...inner,
    append: (events, options) =>
      Effect.suspend(() => {
        counts.appends++;
        return counts.failing ? Effect.fail(storeError("Unavailable", "disk on fire")) : inner.append(events, options);
      }),
  };
  return { store, counts };
});

const withEngine = <A, E>(body: (engine: Engine["Type"], store: StoreShape, counts: { appends: number; failing: boolean }) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const { store, counts } = yield* countingStore;
    const layer = Engine.layer.pipe(Layer.provide(Layer.merge(Layer.succeed(Store, store), BerthdConfig.layer(config))));
    return yield* Effect.scoped(Effect.flatMap(Effect.provide(Engine, layer), (engine) => body(engine, store, counts)));
  });

it.effect("concurrent calls are stored in one transaction, in order, and each caller gets its own verdict", () =>
  withEngine((engine, store, counts) =>
    Effect.gen(function* () {
      yield* engine.submit({ _tag: "NodeObserved", at: 0, node });
      const appendsBefore = counts.appends;
      const start = engine.snapshot();
      // The fourth asks for a name the first already holds: rejected on the state the first left.
      const events = [requested(1), requested(2), requested(3), requested(4, "lease-1"), requested(5)];
      const results = yield* Effect.all(
        events.map((e) => engine.submit(e)),
        { concurrency: "unbounded" },
      );
      expect(results.map((r) => r.committed)).toEqual([true, true, true, false, true]);
      expect(results[3]!.result.rejections[0]?.code).toBe("AlreadyExists");
      expect(counts.appends - appendsBefore).toBe(1);
      const stored = yield* store.readFrom(2);
      expect(stored.map((s) => (s.event.event as { id: string }).id)).toEqual(["l-1", "l-2", "l-3", "l-5"]);
      // The same state as deciding the stored events one by one on copies.
      const expected = [events[0]!, events[1]!, events[2]!, events[4]!].reduce((state, event) => decide(state, event, config.decide).snapshot, start);
      expect(engine.snapshot()).toEqual(expected);
    }),
  ),
);

it.effect("a failed write fails every caller of its group and leaves the state as it was", () =>
  withEngine((engine, store, counts) =>
    Effect.gen(function* () {
      yield* engine.submit({ _tag: "NodeObserved", at: 0, node });
      const before = engine.snapshot();
      const head = yield* store.headSeq;
      counts.failing = true;
      const results = yield* Effect.all(
        [1, 2, 3].map((i) => Effect.either(engine.submit(requested(i)))),
        { concurrency: "unbounded" },
      );
      for (const r of results) expect(Either.isLeft(r) && (r.left as StoreError).reason).toBe("Unavailable");
      expect(engine.snapshot()).toBe(before);
      expect(yield* store.headSeq).toBe(head);
      // The writer carries on once the store does.
      counts.failing = false;
      const again: Submitted = yield* engine.submit(requested(1));
      expect(again.committed).toBe(true);
      expect(Object.keys(engine.snapshot().leases)).toEqual(["l-1"]);
    }),
  ),
);

it.effect("a snapshot handed out is never written by the calls committed after it", () =>
  withEngine((engine) =>
    Effect.gen(function* () {
      yield* engine.submit({ _tag: "NodeObserved", at: 0, node });
      const held = engine.snapshot();
      const copy = structuredClone(held);
      yield* Effect.all(
        [1, 2, 3, 4].map((i) => engine.submit(requested(i))),
        { concurrency: "unbounded" },
      );
      expect(Object.keys(engine.snapshot().leases)).toHaveLength(4);
      expect(held).toEqual(copy);
    }),
  ),
);

it.effect("a call with an idempotency key is committed alone, and its retry stores nothing", () =>
  withEngine((engine, store) =>
    Effect.gen(function* () {
      yield* engine.submit({ _tag: "NodeObserved", at: 0, node });
      const first = requested(1);
      const results = yield* Effect.all(
        [engine.submit(requested(2)), engine.submit(first, { idempotencyKey: "k" }), engine.submit(first, { idempotencyKey: "k" }), engine.submit(requested(3))],
        { concurrency: "unbounded" },
      );
      // The retry finds its lease already there (or its key stored): nothing new either way.
      expect(results.map((r) => r.committed)).toEqual([true, true, false, true]);
      expect(yield* store.headSeq).toBe(4);
      expect(Object.keys(engine.snapshot().leases).sort()).toEqual(["l-1", "l-2", "l-3"]);
    }),
  ),
);
