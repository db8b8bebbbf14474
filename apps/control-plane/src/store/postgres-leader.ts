import pg from "pg";
import { Clock, Deferred, Duration, Effect, Exit, Option, Ref, Schedule, type Scope, SubscriptionRef } from "effect";
import type { StoreError } from "./errors.js";
import { follower, leadershipOf, writeEpochOf, type LeaderControl } from "./leader-control.js";
import { connectionConfig, fromPg, LEADER_LOCK, schemaLockKey } from "./postgres-driver.js";
import type { LeaderState } from "./types.js";

export interface ElectionOptions {
  readonly url: string;
  readonly schema: string;
  readonly replica: string;
  /** How often a follower tries to take the lock. */
  readonly pollIntervalMs: number;
  /** How often the leader checks that its lock connection is alive. */
  readonly heartbeatIntervalMs: number;
  /**
   * How long a deposed leader waits before campaigning again: whatever cost it the lease
   * (a network partition, a stalled process) is more likely to strike it again than the others.
   */
  readonly stepDownBackoffMs: number;
}

const endQuietly = (client: pg.Client): Effect.Effect<void> =>
  Effect.promise(
    () =>
      // end() on a connection the server already dropped can wait for a reply that never comes.
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        client.end().then(
          () => (clearTimeout(timer), resolve()),
          () => (clearTimeout(timer), resolve()),
        );
      }),
  );

/**
 * One leader among the replicas sharing a database: a session-level advisory lock held on a
 * dedicated connection. PostgreSQL releases it when that connection dies (the process was
 * killed, the network dropped it, an operator terminated it), and a follower's next poll takes
 * it. Every takeover increments `store_head.epoch`; writes carry the epoch they were started
 * under and are refused once it has moved (see the store's `write`), so a deposed leader that
 * has not noticed yet cannot write.
 */
export const electLeader = (options: ElectionOptions): Effect.Effect<LeaderControl, never, Scope.Scope> =>
  Effect.gen(function* () {
    const state = yield* SubscriptionRef.make<LeaderState>(follower);
    const stepDown = yield* Ref.make<Option.Option<Deferred.Deferred<void>>>(Option.none());
    const lockKey = schemaLockKey(options.schema);
    const poll = Duration.millis(options.pollIntervalMs);

    const connect = Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new pg.Client({
            ...connectionConfig(options.url, options.schema, `berthd-leader:${options.replica}`),
            query_timeout: Math.max(1000, options.heartbeatIntervalMs * 2),
          });
          // Without a listener an idle connection's error would crash the process.
          client.on("error", () => undefined);
          await client.connect();
          return client;
        },
        catch: (cause) => fromPg("connecting the leader lock", cause),
      }),
      endQuietly,
    );

    const query = (client: pg.Client, sql: string, params: ReadonlyArray<unknown> = []) =>
      Effect.tryPromise({ try: () => client.query(sql, params as unknown[]), catch: (cause) => fromPg("leader election", cause) });

    /** One connection's life: campaign, lead until the connection or the epoch is lost. Returns whether it led. */
    const term: Effect.Effect<boolean, StoreError> = Effect.scoped(
      Effect.gen(function* () {
        const client = yield* connect;
        const lost = yield* Deferred.make<void>();
        client.on("error", () => Deferred.unsafeDone(lost, Exit.void));
        client.on("end", () => Deferred.unsafeDone(lost, Exit.void));

        const held = query(client, `SELECT pg_try_advisory_lock($1, $2) AS held`, [LEADER_LOCK, lockKey]).pipe(Effect.map((r) => r.rows[0]?.held === true));
        const won = yield* Effect.raceFirst(
          Effect.as(Deferred.await(lost), false),
          // repeat answers with the schedule's output; it only ends once the lock is held.
          held.pipe(Effect.repeat({ until: (h) => h, schedule: Schedule.spaced(poll) }), Effect.as(true)),
        );
        if (!won) return false;

        const now = yield* Clock.currentTimeMillis;
        const bumped = yield* query(client, `UPDATE store_head SET epoch = epoch + 1, leader = $1, leader_since = $2 WHERE id = 1 RETURNING epoch`, [
          options.replica,
          now,
        ]);
        const epoch = Number(bumped.rows[0].epoch);
        const deposed = yield* Deferred.make<void>();
        // Finalizers run in reverse: this one, registered after the connection, runs before the
        // connection closes, so the replica stops writing before another can take over.
        yield* Effect.addFinalizer(() => Effect.zipRight(Ref.set(stepDown, Option.none()), SubscriptionRef.set(state, follower)));
        yield* Ref.set(stepDown, Option.some(deposed));
        yield* SubscriptionRef.set(state, { role: "leader", epoch });

        // Leads until the connection drops, a write finds a newer epoch, or a heartbeat fails (a
        // connection that hangs without closing: query_timeout answers for it).
        const heartbeat = query(client, `SELECT 1`).pipe(Effect.repeat(Schedule.spaced(Duration.millis(options.heartbeatIntervalMs))), Effect.ignore);
        yield* Effect.raceFirst(Deferred.await(lost), Effect.raceFirst(Deferred.await(deposed), heartbeat));
        return true;
      }),
    );

    const campaign = term.pipe(
      Effect.exit,
      Effect.flatMap((exit) => Effect.sleep(Exit.isSuccess(exit) && exit.value ? Duration.millis(options.stepDownBackoffMs) : poll)),
      Effect.forever,
    );
    yield* Effect.forkScoped(campaign);

    return {
      leadership: leadershipOf(options.replica, state),
      writeEpoch: writeEpochOf(state, options.replica),
      deposed: Effect.gen(function* () {
        yield* SubscriptionRef.set(state, follower);
        const current = yield* Ref.get(stepDown);
        if (Option.isSome(current)) yield* Deferred.succeed(current.value, undefined);
      }),
    };
  });
