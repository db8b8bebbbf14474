import { Context, Deferred, Effect, Layer } from "effect";

export interface ApiAddressShape {
  /** Called once the gRPC server is bound (with the port it got when configured with port 0). */
  readonly set: (address: string) => Effect.Effect<void>;
  /** The address sidecars dial; waits until the server is bound. */
  readonly get: Effect.Effect<string>;
}

/** Where berthd's gRPC API really listens, for the servers' sidecars (known only after binding). */
export class ApiAddress extends Context.Tag("@berth/control-plane/ApiAddress")<ApiAddress, ApiAddressShape>() {
  static readonly layer: Layer.Layer<ApiAddress> = Layer.effect(
    ApiAddress,
    Effect.map(Deferred.make<string>(), (bound) => ({
      set: (address) => Effect.asVoid(Deferred.succeed(bound, address)),
      get: Deferred.await(bound),
    })),
  );
}
