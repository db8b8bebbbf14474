import { Effect, Option, Stream, SubscriptionRef } from "effect";
import { storeError, type StoreError } from "./errors.js";
import type { Epoch, LeaderState, Leadership } from "./types.js";

/** What the store's writes need from leadership: the term to write under, and a way to step down. */
export interface LeaderControl {
  readonly leadership: Leadership;
  /** The epoch this replica writes under, or Fenced when it does not lead. */
  readonly writeEpoch: Effect.Effect<Epoch, StoreError>;
  /** A write found a newer epoch in the database: this replica was deposed without noticing. */
  readonly deposed: Effect.Effect<void>;
}

/**
 * Leadership as the replicas built here hand it out: also who leads, as far as this replica
 * knows (itself while it leads; the replica the database last recorded when it follows).
 */
export interface KnownLeadership extends Leadership {
  readonly knownLeader: Effect.Effect<Option.Option<string>>;
}

export const follower: LeaderState = { role: "follower" };

/** Who leads as far as `leadership` knows; none when it cannot tell (or was not built here). */
export const knownLeaderOf = (leadership: Leadership): Effect.Effect<Option.Option<string>> =>
  "knownLeader" in leadership ? (leadership as KnownLeadership).knownLeader : Effect.succeed(Option.none());

export const leadershipOf = (
  replica: string,
  state: SubscriptionRef.SubscriptionRef<LeaderState>,
  otherLeader: Effect.Effect<Option.Option<string>> = Effect.succeed(Option.none()),
): KnownLeadership => ({
  replica,
  current: SubscriptionRef.get(state),
  changes: state.changes,
  awaitLeader: state.changes.pipe(
    Stream.filterMap((s) => (s.role === "leader" ? Option.some(s.epoch) : Option.none())),
    Stream.runHead,
    Effect.flatMap((epoch) => (Option.isSome(epoch) ? Effect.succeed(epoch.value) : Effect.never)),
  ),
  knownLeader: Effect.flatMap(SubscriptionRef.get(state), (s) => (s.role === "leader" ? Effect.succeed(Option.some(replica)) : otherLeader)),
});

/** "replica a is not the leader (b leads)": what a refused caller needs to find the leader. */
export const notLeaderMessage = (replica: string, leader: Option.Option<string>): string =>
  Option.match(Option.filter(leader, (name) => name !== replica), {
    onNone: () => `replica ${replica} is not the leader`,
    onSome: (name) => `replica ${replica} is not the leader (the leader is ${name})`,
  });

export const writeEpochOf = (
  state: SubscriptionRef.SubscriptionRef<LeaderState>,
  replica: string,
  otherLeader: Effect.Effect<Option.Option<string>> = Effect.succeed(Option.none()),
): Effect.Effect<Epoch, StoreError> =>
  Effect.flatMap(SubscriptionRef.get(state), (s) =>
    s.role === "leader"
      ? Effect.succeed(s.epoch)
      : Effect.flatMap(otherLeader, (leader) => Effect.fail(storeError("Fenced", `${notLeaderMessage(replica, leader)}; only the leader writes`))),
  );

/** Leadership of a store that only one process can open (SQLite's locked file, memory). */
export const soleLeader = (replica: string, epoch: Epoch): Effect.Effect<LeaderControl> =>
  Effect.map(SubscriptionRef.make<LeaderState>({ role: "leader", epoch }), (state) => ({
    leadership: leadershipOf(replica, state),
    writeEpoch: writeEpochOf(state, replica),
    deposed: SubscriptionRef.set(state, follower),
  }));
