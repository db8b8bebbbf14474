import * as grpc from "@grpc/grpc-js";
import { Effect, Runtime, type Scope, Stream } from "effect";
import { knownLeaderOf, notLeaderMessage } from "../store/leader-control.js";
import type { Leadership } from "../store/types.js";

/**
 * The API of a replica that may stop leading (PostgreSQL: its lock lost, or another replica took
 * over): while it does not lead, every call is refused with UNAVAILABLE naming the leader when it
 * is known, so that no caller reads a stale state or believes a write that was never made.
 * Clients retry UNAVAILABLE (the CLI's `lease create` does, with its idempotency key).
 */
export interface LeaderGate {
  /** Whether this replica leads, right now (kept current by a fiber following the leadership). */
  readonly leading: () => boolean;
  /** The refusal a caller gets while this replica does not lead. */
  readonly refusal: Effect.Effect<grpc.StatusObject>;
  /** The service's handlers, each refusing its calls while this replica does not lead. */
  readonly guard: (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) => grpc.UntypedServiceImplementation;
}

export const makeLeaderGate = (leadership: Leadership): Effect.Effect<LeaderGate, never, Scope.Scope> =>
  Effect.gen(function* () {
    let leading = (yield* leadership.current).role === "leader";
    yield* Effect.forkScoped(Stream.runForEach(leadership.changes, (state) => Effect.sync(() => (leading = state.role === "leader"))));
    const runtime = yield* Effect.runtime<never>();
    const refusal = Effect.map(knownLeaderOf(leadership), (leader) => ({
      code: grpc.status.UNAVAILABLE,
      details: `${notLeaderMessage(leadership.replica, leader)}; it serves no calls until it leads again`,
      metadata: new grpc.Metadata(),
    }));
    const refuse = (answer: (status: grpc.StatusObject) => void) => void Runtime.runPromise(runtime)(refusal).then(answer);

    const guard = (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation =>
      Object.fromEntries(
        Object.entries(handlers).map(([method, handler]) => {
          const shape = definition[method];
          if (shape === undefined) return [method, handler];
          const take = handler as (...args: unknown[]) => void;
          // Unary and client-streaming calls answer through their callback; the others by an error on the call.
          const viaCallback = !shape.responseStream;
          const guarded = (call: grpc.ServerWritableStream<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => {
            if (leading) return take(call, callback);
            refuse((status) => {
              if (viaCallback) callback?.(status);
              else if (!call.cancelled && !call.destroyed) call.emit("error", status);
            });
          };
          return [method, guarded];
        }),
      ) as grpc.UntypedServiceImplementation;

    return { leading: () => leading, refusal, guard };
  });
