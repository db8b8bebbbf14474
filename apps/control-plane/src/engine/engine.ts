import { performance } from "node:perf_hooks";
import { Clock, Context, Duration, Effect, Fiber, Layer, Option, PubSub, type Queue, type Scope } from "effect";
import { decide, decideOwned, emptySnapshot, nextWakeUp, registryPolicies, type DecideResult, type Event, type Snapshot } from "@berth/core";
import { BerthdConfig } from "../config/config.js";
import type { StoreError } from "../store/errors.js";
import { Store } from "../store/store.js";
import { decodeEvent, decodeSnapshot, encodeEvent, encodeSnapshot } from "./codec.js";
import { logInfo, logWarn } from "../log.js";

/** One event that changed the state: stored at `seq`, then decided. */
export interface Commit {
  readonly seq: number;
  readonly event: Event;
  readonly before: Snapshot;
  /** decide's result; `result.snapshot` is the state after the event. */
  readonly result: DecideResult;
  readonly decideMs: number;
}

export interface SubmitOptions<E> {
  /** The API call's idempotency key: a retried call is stored once. */
  readonly idempotencyKey?: string;
  /** Checked against the current state under the writer lock, before decide (tenant quotas). */
  readonly guard?: (snapshot: Snapshot) => Effect.Effect<void, E>;
}

export interface Submitted {
  readonly result: DecideResult;
  /** True when the event was stored and its result is now the state. */
  readonly committed: boolean;
  /** True when the idempotency key had been stored before: nothing new was written. */
  readonly duplicate: boolean;
  /** The state after the call. */
  readonly snapshot: Snapshot;
}

export interface EngineShape {
  /** The latest state (a plain read; never written after it is handed out). */
  readonly snapshot: () => Snapshot;
  /**
   * The single writer: decide the event on the current state; a rejection stores nothing;
   * otherwise the event is appended to the store (persist first), becomes the state, and is
   * published to subscribers (the executor acts on its intents).
   */
  readonly submit: <E = never>(event: Event, options?: SubmitOptions<E>) => Effect.Effect<Submitted, StoreError | E>;
  /** Every commit from now on, in order. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Commit>, never, Scope.Scope>;
  /** How many events the store held when berthd started, and how many it replayed. */
  readonly recovered: { readonly headSeq: number; readonly replayed: number; readonly fromSnapshot: boolean };
}

const GENESIS_KEY = "engine/genesis";

interface Genesis {
  readonly seed: number;
  readonly now: number;
}

/**
 * The seed and start time of the very first state, stored once: replaying the log from an
 * empty state must reach the same state every time, so the empty state must be the same.
 */
const genesis = (store: Context.Tag.Service<Store>) =>
  Effect.gen(function* () {
    const stored = yield* store.getConfig(GENESIS_KEY);
    if (Option.isSome(stored)) return stored.value as Genesis;
    const now = yield* Clock.currentTimeMillis;
    const fresh: Genesis = { seed: (Math.random() * 2 ** 32) >>> 0, now };
    yield* store.putConfig(GENESIS_KEY, fresh);
    return fresh;
  });

/** Replay the newest snapshot and the events after it (decide is pure, so this is where berthd was). */
const recover = (store: Context.Tag.Service<Store>, config: Context.Tag.Service<BerthdConfig>, policies: ReturnType<typeof registryPolicies>) =>
  Effect.gen(function* () {
    const start = yield* genesis(store);
    const recovery = yield* store.latest;
    let state = Option.match(recovery.snapshot, {
      onNone: () => emptySnapshot({ now: start.now, seed: start.seed }),
      onSome: (s) => decodeSnapshot(s.state),
    });
    let replayed = 0;
    for (const stored of recovery.events) {
      const event = decodeEvent(stored);
      if (event === undefined) {
        yield* logWarn("store event is not a core event; skipped", { seq: stored.seq, type: stored.event.type });
        continue;
      }
      state = decideOwned(state, event, config.decide, policies).snapshot;
      replayed++;
    }
    return { state, headSeq: recovery.headSeq, replayed, fromSnapshot: Option.isSome(recovery.snapshot) };
  });

export const makeEngine = Effect.gen(function* () {
  const store = yield* Store;
  const config = yield* BerthdConfig;
  // With a shared (PostgreSQL) store, a standby waits here until it leads; the embedded stores lead at once.
  yield* store.leadership.awaitLeader;
  const policies = registryPolicies(config.decide);
  const recovered = yield* recover(store, config, policies);
  let current = recovered.state;
  let sinceSnapshot = recovered.replayed;
  let headSeq = recovered.headSeq;
  yield* logInfo("state recovered", {
    headSeq,
    replayed: recovered.replayed,
    fromSnapshot: recovered.fromSnapshot,
    leases: Object.keys(current.leases).length,
    servers: Object.keys(current.servers).length,
  });

  const lock = yield* Effect.makeSemaphore(1);
  const commits = yield* PubSub.unbounded<Commit>();
  const scope = yield* Effect.scope;
  let wake: { readonly at: number; readonly fiber: Fiber.RuntimeFiber<unknown, unknown> } | undefined;

  const saveSnapshot = Effect.suspend(() => {
    if (sinceSnapshot === 0) return Effect.void;
    const seq = headSeq;
    const state = encodeSnapshot(current);
    return store.saveSnapshot(seq, state).pipe(
      Effect.tap(() => Effect.sync(() => (sinceSnapshot = 0))),
      // Events before the snapshot are no longer needed to recover (the store keeps a tail).
      Effect.zipRight(store.compact()),
      Effect.catchAll((error) => logWarn("snapshot not saved", { seq, error: error.message })),
    );
  });

  // One wake-up at decide's next instant (expiry, cooling, autoscaler period): never a poll per lease.
  const reschedule = (lastEvent: Event | undefined): Effect.Effect<void> =>
    Effect.gen(function* () {
      const next = nextWakeUp(current, config.decide);
      if (wake !== undefined && wake.at === next) return;
      if (wake !== undefined) yield* Fiber.interruptFork(wake.fiber);
      wake = undefined;
      if (next === undefined) return;
      const now = yield* Clock.currentTimeMillis;
      // A Tick that leaves the next instant where it was would spin: wait a second instead.
      const spin = lastEvent?._tag === "Tick" && next <= lastEvent.at;
      const delay = spin ? 1000 : Math.max(0, next - now);
      const fiber = yield* Effect.sleep(Duration.millis(delay)).pipe(
        // From here on this wake-up is spent: a reschedule must not interrupt the Tick it submits.
        Effect.zipRight(Effect.sync(() => (wake = undefined))),
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.flatMap((at) => submit({ _tag: "Tick", at })),
        Effect.catchAll((error) => logWarn("tick failed", { error: String(error) })),
        Effect.forkIn(scope),
      );
      wake = { at: next, fiber };
    });

  const submit = <E = never>(event: Event, options: SubmitOptions<E> = {}): Effect.Effect<Submitted, StoreError | E> =>
    lock.withPermits(1)(
      Effect.gen(function* () {
        if (options.guard !== undefined) yield* options.guard(current);
        const before = current;
        const t0 = performance.now();
        const result = decide(before, event, config.decide, policies);
        const decideMs = performance.now() - t0;
        if (result.snapshot === before) return { result, committed: false, duplicate: false, snapshot: before };
        const appended = yield* store.append([encodeEvent(event)], options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {});
        if (appended.duplicate) return { result, committed: false, duplicate: true, snapshot: before };
        current = result.snapshot;
        headSeq = appended.lastSeq;
        sinceSnapshot++;
        yield* PubSub.publish(commits, { seq: appended.lastSeq, event, before, result, decideMs });
        if (sinceSnapshot >= config.store.snapshotEvery) yield* saveSnapshot;
        yield* reschedule(event);
        return { result, committed: true, duplicate: false, snapshot: current };
      }),
    );

  yield* lock.withPermits(1)(reschedule(undefined));
  yield* Effect.addFinalizer(() => lock.withPermits(1)(saveSnapshot));

  const engine: EngineShape = {
    snapshot: () => current,
    submit,
    subscribe: PubSub.subscribe(commits),
    recovered: { headSeq: recovered.headSeq, replayed: recovered.replayed, fromSnapshot: recovered.fromSnapshot },
  };
  return engine;
});

export class Engine extends Context.Tag("@berth/control-plane/Engine")<Engine, EngineShape>() {
  static readonly layer: Layer.Layer<Engine, StoreError, Store | BerthdConfig> = Layer.scoped(Engine, makeEngine);
}
