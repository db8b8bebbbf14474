// berthd HA on Kubernetes: with `backend.kubernetes.leaderElection` set, the store's leadership
// also requires holding a coordination.k8s.io Lease. It fits in with the store's own election
// rather than beside it: the engine's start waits for `awaitLeader` (a standby waits there),
// the backend gate and the API refuse while `current` says follower, and serve.ts ends a term
// when `changes` turns follower. A PostgreSQL store leads only while both elections are won;
// the embedded stores lead exactly while the Lease is held.
import { Effect, Layer, Option, Stream, SubscriptionRef } from "effect";
import { loadBerthdElection } from "@berth/backends/kubernetes/berthd-election-lazy";
import type { BerthdConfigShape } from "../config/config.js";
import { logInfo, logWarn } from "../log.js";
import { storeError, type StoreError } from "../store/errors.js";
import { follower, leadershipOf } from "../store/leader-control.js";
import { Store } from "../store/store.js";
import type { LeaderState } from "../store/types.js";

/** The state of both elections combined: the store's (with its epoch) only while the Lease is held. */
export const combinedState = (holdsLease: boolean, store: LeaderState): LeaderState => (holdsLease && store.role === "leader" ? store : follower);

/** `store`, whose leadership also requires the Kubernetes Lease when the configuration asks for one. */
export const withKubernetesLeadership = (config: BerthdConfigShape, store: Layer.Layer<Store, StoreError>): Layer.Layer<Store, StoreError> => {
  if (config.backend.kind !== "kubernetes" || config.backend.kubernetes.leaderElection === undefined) return store;
  return Layer.scoped(
    Store,
    Effect.gen(function* () {
      const inner = yield* Store;
      const { runBerthdElection } = yield* Effect.promise(loadBerthdElection);
      const election = yield* runBerthdElection(config.backend.kubernetes).pipe(Effect.mapError((e) => storeError("Unavailable", `leader election: ${e.message}`, { cause: e })));
      if (election === undefined) return inner;
      const { options } = election;
      yield* logInfo("leader election on", { lease: `${options.namespace}/${options.name}`, identity: options.identity });
      const state = yield* SubscriptionRef.make<LeaderState>(follower);
      yield* Stream.zipLatest(election.leading.changes, inner.leadership.changes).pipe(
        Stream.map(([holds, s]) => combinedState(holds, s)),
        Stream.changesWith((a, b) => a.role === b.role && (a.role !== "leader" || b.role !== "leader" || a.epoch === b.epoch)),
        Stream.runForEach((s) =>
          Effect.gen(function* () {
            const before = yield* SubscriptionRef.getAndSet(state, s);
            const fields = { identity: options.identity, holder: election.holder() ?? "" };
            if (s.role === "leader") yield* logInfo("leading: holds the Lease", fields);
            else if (before.role === "leader") yield* logWarn("stopped leading: lost the Lease or the store's lead", fields);
            else yield* logInfo("standing by: not leading", fields);
          }),
        ),
        Effect.forkScoped,
      );
      const holder = Effect.sync(() => Option.filter(Option.fromNullable(election.holder()), (h) => h !== ""));
      return { ...inner, leadership: leadershipOf(inner.leadership.replica, state, holder) };
    }),
  ).pipe(Layer.provide(store));
};
