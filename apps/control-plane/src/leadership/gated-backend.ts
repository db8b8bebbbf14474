import { Effect, Layer } from "effect";
import { Backend, type BackendAutoscalerShape, type BackendShape } from "@berth/backends/backend";
import { backendError, type BackendError } from "@berth/backends/errors";
import { knownLeaderOf, notLeaderMessage } from "../store/leader-control.js";
import { Store } from "../store/store.js";
import type { Leadership } from "../store/types.js";

/**
 * The backend as only a leader may use it: every call that changes servers or routes is refused
 * (Unavailable) once this replica does not lead, checked as the call starts. A deposed leader
 * stops acting at once, before its layers are torn down, and whatever it still had queued or was
 * retrying never reaches the backend, where it would fight the new leader. Reads pass.
 */
export const leaderGated = (backend: BackendShape, leadership: Leadership): BackendShape => {
  const refusal = Effect.flatMap(knownLeaderOf(leadership), (leader) =>
    Effect.fail(backendError(backend.name, { _tag: "Unavailable", message: `${notLeaderMessage(leadership.replica, leader)}; it changes nothing` })),
  );
  const whileLeading = <A>(act: Effect.Effect<A, BackendError>): Effect.Effect<A, BackendError> =>
    Effect.flatMap(leadership.current, (state) => (state.role === "leader" ? act : refusal));
  const routing = backend.leaseRouting;
  // The scale target's status is written too: a follower must not.
  const gatedAutoscaler = (autoscaler: BackendAutoscalerShape): BackendAutoscalerShape => ({
    defaultMode: autoscaler.defaultMode,
    ensureLeaseAutoscaler: (spec, replicas) => whileLeading(Effect.suspend(() => autoscaler.ensureLeaseAutoscaler(spec, replicas))),
    syncScaleTarget: (serverId, replicas) => whileLeading(Effect.suspend(() => autoscaler.syncScaleTarget(serverId, replicas))),
    deleteLeaseAutoscaler: (lease) => whileLeading(Effect.suspend(() => autoscaler.deleteLeaseAutoscaler(lease))),
  });
  return {
    name: backend.name,
    capabilities: backend.capabilities,
    ensureServer: (spec) => whileLeading(Effect.suspend(() => backend.ensureServer(spec))),
    scale: (serverId, replicas, placements) => whileLeading(Effect.suspend(() => backend.scale(serverId, replicas, placements))),
    deleteServer: (serverId) => whileLeading(Effect.suspend(() => backend.deleteServer(serverId))),
    list: () => backend.list(),
    watch: () => backend.watch(),
    ...(routing !== undefined
      ? {
          leaseRouting: {
            autoscaling: routing.autoscaling,
            ensureLeaseRoute: (lease, serverIds) => whileLeading(Effect.suspend(() => routing.ensureLeaseRoute(lease, serverIds))),
            deleteLeaseRoute: (lease) => whileLeading(Effect.suspend(() => routing.deleteLeaseRoute(lease))),
            leaseRoutes: () => routing.leaseRoutes(),
            setLeaseMember: (serverId, index, lease, member) => whileLeading(Effect.suspend(() => routing.setLeaseMember(serverId, index, lease, member))),
            ...(routing.autoscaler !== undefined ? { autoscaler: gatedAutoscaler(routing.autoscaler) } : {}),
          },
        }
      : {}),
  };
};

/** `layer`'s backend, gated by the store's leadership. */
export const leaderGatedLayer = <E, R>(layer: Layer.Layer<Backend, E, R>): Layer.Layer<Backend, E, R | Store> =>
  Layer.effect(
    Backend,
    Effect.gen(function* () {
      const backend = yield* Backend;
      const store = yield* Store;
      return leaderGated(backend, store.leadership);
    }),
  ).pipe(Layer.provide(layer));
