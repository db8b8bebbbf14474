import { it } from "@effect/vitest";
import { Effect, Either, Layer, TestClock } from "effect";
import { expect } from "vitest";
import { validateLeaseSpec } from "@berth/core";
import { BerthdConfig } from "../src/config/config.js";
import { loadConfig } from "../src/config/load.js";
import { Engine } from "../src/engine/engine.js";
import { Store } from "../src/store/store.js";

// The single writer on a memory store under the TestClock: what it stores, what it refuses, and
// that expiry comes from one wake-up at decide's next instant, not from polling.

const config = Effect.runSync(loadConfig({ inline: { store: { kind: "memory" } }, env: {}, cwd: "/tmp" }));
const store = Store.layerMemory;
const engineLayer = Engine.layer.pipe(Layer.provideMerge(Layer.merge(store, BerthdConfig.layer(config))));

const node = { name: "n1", cpu: 8000, memory: 16 * 2 ** 30, state: "Ready" as const, gpus: [{ index: 0, model: "A10", memory: 8 * 2 ** 30 }] };
const spec = Either.getOrThrow(
  validateLeaseSpec({ name: "short", models: ["simple@demo"], resources: { gpuMemory: "1Gi" }, minDuration: "1m", renewal: { enabled: false } }),
);

it.effect("stores accepted events only, and expires a lease with one wake-up at its expiry", () =>
  Effect.gen(function* () {
    const engine = yield* Engine;
    const log = yield* Store;
    yield* engine.submit({ _tag: "NodeObserved", at: 0, node });
    const requested = yield* engine.submit({ _tag: "LeaseRequested", at: 0, id: "l-1", spec });
    expect(requested.committed).toBe(true);
    // A rejected event (a second lease with the same name) is not stored.
    const duplicate = yield* engine.submit({ _tag: "LeaseRequested", at: 0, id: "l-2", spec });
    expect(duplicate.committed).toBe(false);
    expect(duplicate.result.rejections[0]?.code).toBe("AlreadyExists");
    const serverId = engine.snapshot().leases["l-1"]!.placement!.serverId;
    yield* engine.submit({ _tag: "ServerObserved", at: 0, serverId, state: "Up", readyReplicas: 1 });
    yield* engine.submit({ _tag: "ModelsLoaded", at: 0, serverId, leaseId: "l-1", measuredMemory: 2 ** 29 });
    expect(engine.snapshot().leases["l-1"]!.phase).toBe("Ready");
    const storedBefore = yield* log.headSeq;
    expect(storedBefore).toBe(4);

    yield* TestClock.adjust("59 seconds");
    expect(engine.snapshot().leases["l-1"]!.phase).toBe("Ready");
    yield* TestClock.adjust("2 seconds");
    expect(engine.snapshot().leases["l-1"]!.phase).toBe("Expiring");
    const events = yield* log.readFrom(storedBefore + 1);
    // One Tick, at the expiry: nothing polled in between.
    expect(events.map((e) => [e.event.type, e.event.at])).toEqual([["Tick", 60_000]]);
  }).pipe(Effect.provide(engineLayer)),
);

it.effect("an idempotency key stores an event once", () =>
  Effect.gen(function* () {
    const engine = yield* Engine;
    const log = yield* Store;
    yield* engine.submit({ _tag: "NodeObserved", at: 0, node });
    const pool = { _tag: "PoolDefined" as const, at: 1, spec: { name: "p", template: { image: "", group: "", resources: spec.resources }, minInstances: 0, maxInstances: 1, quotaPerInstance: 2 ** 30 } };
    const first = yield* engine.submit(pool, { idempotencyKey: "k" });
    const again = yield* engine.submit({ ...pool, at: 1 }, { idempotencyKey: "k" });
    expect(first.committed).toBe(true);
    expect(again.duplicate).toBe(true);
    expect(yield* log.headSeq).toBe(2);
  }).pipe(Effect.provide(engineLayer)),
);

it.effect("recovers the same state from the log after a restart", () =>
  Effect.gen(function* () {
    const shared = yield* Effect.provide(Store, store);
    const sharedStore = Layer.succeed(Store, shared);
    const layer = Engine.layer.pipe(Layer.provide(Layer.merge(sharedStore, BerthdConfig.layer(config))));
    const before = yield* Effect.scoped(
      Effect.gen(function* () {
        const engine = yield* Effect.provide(Engine, layer);
        yield* engine.submit({ _tag: "NodeObserved", at: 0, node });
        yield* engine.submit({ _tag: "LeaseRequested", at: 5, id: "l-1", spec });
        return engine.snapshot();
      }),
    );
    const after = yield* Effect.scoped(Effect.map(Effect.provide(Engine, layer), (engine) => engine.snapshot()));
    expect(after).toEqual(before);
  }),
);
