import pg from "pg";
import { Clock, Deferred, Duration, Effect, Exit, Option, Ref, Schedule, type Scope, SubscriptionRef } from "effect";
import { storeError, type StoreError } from "./errors.js";
import { follower, leadershipOf, notLeaderMessage, type LeaderControl } from "./leader-control.js";
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
 * The server's side of a silent lock connection (a network partition: no FIN, no RST). Without
 * keepalives PostgreSQL would hold the lock for the kernel's two hours; with them it drops the
 * session after idle + interval * count seconds. That must stay longer than the leader takes to
 * notice the silence itself (a heartbeat plus its query_timeout, three heartbeat intervals), so
 * that the old leader has stopped before anyone else can take the lock.
 */
export const lockKeepalives = (heartbeatIntervalMs: number) => {
  const idle = Math.max(2, Math.ceil((4 * heartbeatIntervalMs) / 1000));
  const interval = Math.max(1, Math.ceil(heartbeatIntervalMs / 1000));
  return { idle, interval, count: 3 };
};

/**
 * One leader among the replicas sharing a database: a session-level advisory lock held on a
 * dedicated connection. PostgreSQL releases it when that connection dies (the process was
 * killed, the network dropped it, an operator terminated it), and a follower's next poll takes
 * it. Every takeover increments `store_head.epoch`; writes carry the epoch they were started
 * under and are refused once it has moved (see the store's `write`), so a deposed leader that
 * has not noticed yet cannot write. The leader's heartbeat reads the epoch too, so it also
 * notices a takeover without having to write.
 */
export const electLeader = (options: ElectionOptions): Effect.Effect<LeaderControl, never, Scope.Scope> =>
  Effect.gen(function* () {
    const state = yield* SubscriptionRef.make<LeaderState>(follower);
    const stepDown = yield* Ref.make<Option.Option<Deferred.Deferred<void>>>(Option.none());
    const closing = yield* Deferred.make<void>();
    let closed = false;
    /** The epoch writes go out under while this replica leads; read and cleared synchronously, so a finalizer can clear it. */
    let leadingEpoch: number | undefined;
    const stopWriting = Effect.zipRight(
      Effect.sync(() => (leadingEpoch = undefined)),
      Ref.set(stepDown, Option.none()),
    );
    /** The leader the database last recorded, as a follower saw it (for "the leader is ..." messages). */
    const recordedLeader = yield* Ref.make<Option.Option<string>>(Option.none());
    const noteLeader = (name: unknown) => Ref.set(recordedLeader, typeof name === "string" && name !== "" && name !== options.replica ? Option.some(name) : Option.none());
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
          const k = lockKeepalives(options.heartbeatIntervalMs);
          await client.query(`SET tcp_keepalives_idle = ${k.idle}; SET tcp_keepalives_interval = ${k.interval}; SET tcp_keepalives_count = ${k.count}`);
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

        const held = query(client, `SELECT pg_try_advisory_lock($1, $2) AS held, (SELECT leader FROM store_head WHERE id = 1) AS leader`, [LEADER_LOCK, lockKey]).pipe(
          Effect.tap((r) => (r.rows[0]?.held === true ? Effect.void : noteLeader(r.rows[0]?.leader))),
          Effect.map((r) => r.rows[0]?.held === true),
        );
        const won = yield* Effect.raceFirst(
          Effect.as(Effect.race(Deferred.await(lost), Deferred.await(closing)), false),
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
        // connection closes, so the replica stops writing before another can take over. It
        // announces the change from a fiber of its own: a SubscriptionRef.set (a semaphore) run
        // inside a finalizer swallows an interruption that arrives meanwhile, and the store's
        // close, which interrupts this campaign, would then wait forever.
        yield* Effect.addFinalizer(() => Effect.zipRight(stopWriting, Effect.asVoid(Effect.forkDaemon(SubscriptionRef.set(state, follower)))));
        yield* Ref.set(stepDown, Option.some(deposed));
        leadingEpoch = epoch;
        yield* SubscriptionRef.set(state, { role: "leader", epoch });

        // Leads until the connection drops, a write or a heartbeat finds a newer epoch, or a
        // heartbeat fails (a connection that hangs without closing: query_timeout answers for it).
        const check = query(client, `SELECT epoch, leader FROM store_head WHERE id = 1`).pipe(
          Effect.flatMap((r) =>
            Number(r.rows[0]?.epoch) === epoch ? Effect.void : Effect.zipRight(noteLeader(r.rows[0]?.leader), Effect.fail(fromPg("leader heartbeat", new Error("deposed")))),
          ),
        );
        const heartbeat = check.pipe(Effect.repeat(Schedule.spaced(Duration.millis(options.heartbeatIntervalMs))), Effect.ignore);
        yield* Effect.raceAll([Deferred.await(lost), Deferred.await(deposed), Deferred.await(closing), heartbeat]);
        yield* stopWriting;
        yield* SubscriptionRef.set(state, follower);
        return true;
      }),
    );

    // The campaign ends when the store closes: `closing` ends every wait of it. Interruption alone
    // is not enough: one that arrives while a term's finalizers run can be lost.
    const campaign = term.pipe(
      Effect.exit,
      Effect.flatMap((exit) => Effect.race(Effect.sleep(Exit.isSuccess(exit) && exit.value ? Duration.millis(options.stepDownBackoffMs) : poll), Deferred.await(closing))),
      Effect.repeat({ until: () => closed }),
    );
    yield* Effect.forkScoped(campaign);
    // Registered after the fork, so it runs first when the store closes.
    yield* Effect.addFinalizer(() => Effect.zipRight(Effect.sync(() => (closed = true)), Deferred.succeed(closing, undefined)));

    return {
      leadership: leadershipOf(options.replica, state, Ref.get(recordedLeader)),
      writeEpoch: Effect.suspend(() =>
        leadingEpoch !== undefined ? Effect.succeed(leadingEpoch) : Effect.flatMap(Ref.get(recordedLeader), (leader) => Effect.fail(storeError("Fenced", `${notLeaderMessage(options.replica, leader)}; only the leader writes`))),
      ),
      deposed: Effect.gen(function* () {
        leadingEpoch = undefined;
        yield* SubscriptionRef.set(state, follower);
        const current = yield* Ref.get(stepDown);
        if (Option.isSome(current)) yield* Deferred.succeed(current.value, undefined);
      }),
    };
  });
