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

export const follower: LeaderState = { role: "follower" };

export const leadershipOf = (replica: string, state: SubscriptionRef.SubscriptionRef<LeaderState>): Leadership => ({
  replica,
  current: SubscriptionRef.get(state),
  changes: state.changes,
  awaitLeader: state.changes.pipe(
    Stream.filterMap((s) => (s.role === "leader" ? Option.some(s.epoch) : Option.none())),
    Stream.runHead,
    Effect.flatMap((epoch) => (Option.isSome(epoch) ? Effect.succeed(epoch.value) : Effect.never)),
  ),
});

export const writeEpochOf = (state: SubscriptionRef.SubscriptionRef<LeaderState>, replica: string): Effect.Effect<Epoch, StoreError> =>
  Effect.flatMap(SubscriptionRef.get(state), (s) =>
    s.role === "leader" ? Effect.succeed(s.epoch) : Effect.fail(storeError("Fenced", `replica ${replica} is not the leader; only the leader writes`)),
  );

/** Leadership of a store that only one process can open (SQLite's locked file, memory). */
export const soleLeader = (replica: string, epoch: Epoch): Effect.Effect<LeaderControl> =>
  Effect.map(SubscriptionRef.make<LeaderState>({ role: "leader", epoch }), (state) => ({
    leadership: leadershipOf(replica, state),
    writeEpoch: writeEpochOf(state, replica),
    deposed: SubscriptionRef.set(state, follower),
  }));
