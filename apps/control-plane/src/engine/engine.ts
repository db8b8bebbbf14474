import { performance } from "node:perf_hooks";
import { Clock, Context, Deferred, Duration, Effect, Either, Exit, Fiber, Layer, Option, PubSub, type Queue, type Scope } from "effect";
import { decide, decideOwned, emptySnapshot, nextWakeUp, ownedCopy, registryPolicies, type DecideResult, type Event, type Snapshot } from "@berth/core";
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
   * published to subscribers (the executor acts on its intents). Calls that arrive while the
   * writer is busy are committed together in one transaction (group commit); each caller hears
   * back only once its event is durable.
   */
  readonly submit: <E = never>(event: Event, options?: SubmitOptions<E>) => Effect.Effect<Submitted, StoreError | E>;
  /** Every commit from now on, in order. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Commit>, never, Scope.Scope>;
  /** How many events the store held when berthd started, and how many it replayed. */
  readonly recovered: { readonly headSeq: number; readonly replayed: number; readonly fromSnapshot: boolean };
}

const GENESIS_KEY = "engine/genesis";

/** The most calls one transaction takes (the rest wait for the next one). */
const MAX_BATCH = 256;

/** How many of the state's records one event may cost in snapshots, amortised (see snapshotDue). */
const SNAPSHOT_RECORDS_PER_EVENT = 4;

/** A call waiting for the writer. */
interface Pending {
  readonly event: Event;
  readonly options: SubmitOptions<unknown>;
  readonly done: Deferred.Deferred<Submitted, unknown>;
}

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

  // Held by the writer while it works on a batch, and by the final snapshot at shutdown.
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

  /**
   * A snapshot encodes the whole state: after `snapshotEvery` events, and once the state is
   * large, only after a quarter as many events as it has leases and servers, so that its cost
   * per event stays constant as the fleet grows (10,000 leases: a 12 MB snapshot every 5,000
   * events rather than every 200; replaying those on restart takes about a second).
   */
  // The state is counted (a key list of every lease and server) only once the last count says
  // a snapshot may be due, not after every group: a state that shrank meanwhile waits for that point.
  let sizeCheckAt = 0;
  const snapshotDue = (): boolean => {
    if (sinceSnapshot < config.store.snapshotEvery || sinceSnapshot < sizeCheckAt) return false;
    const due = Math.ceil((Object.keys(current.leases).length + Object.keys(current.servers).length) / SNAPSHOT_RECORDS_PER_EVENT);
    if (sinceSnapshot >= due) {
      sizeCheckAt = 0;
      return true;
    }
    sizeCheckAt = due;
    return false;
  };

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

  const complete = (item: Pending, exit: Exit.Exit<Submitted, unknown>) => Deferred.done(item.done, exit);

  /** The state becomes `state`; the commits go to the subscribers (the executor acts on their intents). */
  const adopt = (state: Snapshot, lastSeq: number, published: readonly Commit[]) =>
    Effect.gen(function* () {
      current = state;
      headSeq = lastSeq;
      sinceSnapshot += published.length;
      yield* PubSub.publishAll(commits, published);
    });

  /** A call with an idempotency key commits alone: the store says whether it is a retry, before anything decided after it. */
  const commitAlone = (item: Pending) =>
    Effect.gen(function* () {
      const { event, options } = item;
      if (options.guard !== undefined) {
        const guarded = yield* Effect.either(options.guard(current));
        if (Either.isLeft(guarded)) return yield* complete(item, Exit.fail(guarded.left));
      }
      const before = current;
      const t0 = performance.now();
      const result = decide(before, event, config.decide, policies);
      const decideMs = performance.now() - t0;
      if (result.snapshot === before) return yield* complete(item, Exit.succeed({ result, committed: false, duplicate: false, snapshot: before }));
      const appended = yield* Effect.either(store.append([encodeEvent(event)], { idempotencyKey: options.idempotencyKey! }));
      if (Either.isLeft(appended)) return yield* complete(item, Exit.fail(appended.left));
      if (appended.right.duplicate) return yield* complete(item, Exit.succeed({ result, committed: false, duplicate: true, snapshot: before }));
      yield* adopt(result.snapshot, appended.right.lastSeq, [{ seq: appended.right.lastSeq, event, before, result, decideMs }]);
      yield* complete(item, Exit.succeed({ result, committed: true, duplicate: false, snapshot: result.snapshot }));
    });

  interface Decided {
    readonly event: Event;
    readonly before: Snapshot;
    readonly result: DecideResult;
    readonly decideMs: number;
  }

  /**
   * Guards and decides a group's calls in order, each on the state its predecessors left. With
   * `owned`, the tables are copied once (ownedCopy) and every event is decided in place on the
   * copy: the state handed out so far is never written. The commits of such a group share the
   * copy, so each one's `before` and `result.snapshot` show the group's final records (the first
   * one's `before` is the exact state before the group); Ticks start a group of their own, so a
   * Tick's `before` is always exact (Watch reads the leases it pruned from it).
   */
  const decideGroup = (group: readonly Pending[], owned: boolean) =>
    Effect.gen(function* () {
      let working = owned ? ownedCopy(current) : current;
      const outcomes: Exit.Exit<Submitted, unknown>[] = [];
      const decided: Decided[] = [];
      for (const { event, options } of group) {
        if (options.guard !== undefined) {
          const guarded = yield* Effect.either(options.guard(working));
          if (Either.isLeft(guarded)) {
            outcomes.push(Exit.fail(guarded.left));
            continue;
          }
        }
        const before = working;
        const t0 = performance.now();
        const result = owned ? decideOwned(before, event, config.decide, policies) : decide(before, event, config.decide, policies);
        const decideMs = performance.now() - t0;
        // decide caught a throw: in place, the copy may be half written.
        if (owned && result.rejections.some((r) => r.code === "Internal")) return undefined;
        if (result.snapshot !== before) {
          decided.push({ event, before: owned && decided.length === 0 ? current : before, result, decideMs });
          working = result.snapshot;
        }
        outcomes.push(Exit.succeed({ result, committed: result.snapshot !== before, duplicate: false, snapshot: result.snapshot }));
      }
      return { working, outcomes, decided };
    });

  /**
   * Group commit: the group's calls are decided (decideGroup), the accepted events appended in
   * one transaction, and only then does the working state become the state and does any caller
   * hear back. A failed append leaves the state as it was and fails every caller of the group
   * (their verdicts were reached on a state that is not stored).
   */
  const commitGroup = (group: readonly Pending[]) =>
    Effect.gen(function* () {
      const owned = group.length > 1;
      // A throw inside decide (a bug) on the in-place copy: decide the group again on copies.
      const outcome = (yield* decideGroup(group, owned)) ?? (yield* decideGroup(group, false))!;
      const { working, outcomes, decided } = outcome;
      if (decided.length > 0) {
        const appended = yield* Effect.either(store.append(decided.map((d) => encodeEvent(d.event))));
        if (Either.isLeft(appended)) {
          for (const item of group) yield* complete(item, Exit.fail(appended.left));
          return;
        }
        const { firstSeq, lastSeq } = appended.right;
        yield* adopt(
          working,
          lastSeq,
          decided.map((d, i) => ({ seq: firstSeq + i, event: d.event, before: d.before, result: d.result, decideMs: d.decideMs })),
        );
      }
      for (let i = 0; i < group.length; i++) yield* complete(group[i]!, outcomes[i]!);
    });

  /** One batch: runs of calls without idempotency keys commit together (a Tick starts a new run), a keyed call alone, all in arrival order. */
  const commitBatch = (batch: readonly Pending[]) =>
    Effect.gen(function* () {
      let i = 0;
      while (i < batch.length) {
        if (batch[i]!.options.idempotencyKey !== undefined) {
          yield* commitAlone(batch[i]!);
          i++;
          continue;
        }
        let j = i + 1;
        while (j < batch.length && batch[j]!.options.idempotencyKey === undefined && batch[j]!.event._tag !== "Tick") j++;
        yield* commitGroup(batch.slice(i, j));
        i = j;
      }
      if (snapshotDue()) yield* saveSnapshot;
      yield* reschedule(batch[batch.length - 1]?.event);
    }).pipe(
      // A defect must not leave callers waiting for ever or stop the writer: whoever was not answered gets it.
      Effect.catchAllCause((cause) => Effect.forEach(batch, (item) => Deferred.failCause(item.done, cause), { discard: true })),
    );

  // The calls waiting for the writer, and whether a writer fiber is draining them.
  const pending: Pending[] = [];
  let writing = false;

  // One turn of the event loop before a batch is taken: the calls that arrived on the same turn
  // (gRPC delivers each in its own callback) join it instead of each committing alone.
  const yieldToIo = Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)));

  /**
   * The single writer: forked by the call that finds none running, it commits batch after batch
   * until nothing waits. Not tied to any scope, so a call never waits on a writer that is gone.
   */
  const drain: Effect.Effect<void> = Effect.gen(function* () {
    for (;;) {
      yield* yieldToIo;
      // Taking the batch and standing down when there is none are one step: no call is left behind.
      const batch = pending.length === 0 ? ((writing = false), undefined) : pending.splice(0, MAX_BATCH);
      if (batch === undefined) return;
      yield* lock.withPermits(1)(commitBatch(batch));
    }
    // Interrupted (the runtime shutting down): the next call starts a writer again.
  }).pipe(Effect.onInterrupt(() => Effect.sync(() => (writing = false))));

  const submit = <E = never>(event: Event, options: SubmitOptions<E> = {}): Effect.Effect<Submitted, StoreError | E> =>
    Effect.flatMap(Deferred.make<Submitted, StoreError | E>(), (done) =>
      Effect.suspend(() => {
        pending.push({ event, options, done } as Pending);
        if (writing) return Deferred.await(done);
        writing = true;
        return Effect.zipRight(Effect.forkDaemon(drain), Deferred.await(done));
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
