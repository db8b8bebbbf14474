// A plugin's `layer(config)`: decode its configuration (every problem at once, as InvalidConfig
// naming the backend), then build the backend from the decoded value.
import { Either, Layer } from "effect";
import type { Backend } from "./backend.js";
import { backendError, type BackendError } from "./errors.js";

export const layerFromConfig =
  <C>(name: string, decode: (input: unknown) => Either.Either<C, readonly string[]>, layer: (config: C) => Layer.Layer<Backend, BackendError>) =>
  (input: unknown): Layer.Layer<Backend, BackendError> =>
    Either.match(decode(input), {
      onLeft: (problems) => Layer.fail(backendError(name, { _tag: "InvalidConfig", problems })),
      onRight: layer,
    });
