import * as grpc from "@grpc/grpc-js";
import { Cause, Effect, Either, Exit, Fiber, Option, Runtime } from "effect";
import type { BerthdConfigShape } from "../config/config.js";
import { logError } from "../log.js";
import { authenticate, type Principal } from "./auth.js";
import { apiError, toServiceError, type ApiError } from "./errors.js";

// Adapters between grpc-js callbacks and Effects: authenticate, run, map the failure to a status.

export interface CallContext {
  readonly principal: Principal;
  readonly metadata: grpc.Metadata;
}

const statusOf = (cause: Cause.Cause<ApiError>): Partial<grpc.StatusObject> & Error => {
  const failure = Cause.failureOption(cause);
  if (Option.isSome(failure)) return toServiceError(failure.value);
  return toServiceError(apiError(grpc.status.INTERNAL, `internal error: ${Cause.pretty(cause).split("\n")[0]}`));
};

export interface RpcKit {
  readonly unary: <Req, Res>(
    method: string,
    handler: (request: Req, context: CallContext) => Effect.Effect<Res, ApiError>,
    observe?: (result: Exit.Exit<Res, ApiError>) => void,
  ) => grpc.handleUnaryCall<Req, Res>;
  readonly serverStream: <Req, Res>(
    method: string,
    handler: (request: Req, context: CallContext, call: grpc.ServerWritableStream<Req, Res>) => Effect.Effect<void, ApiError>,
    observe?: (result: Exit.Exit<void, ApiError>) => void,
  ) => grpc.handleServerStreamingCall<Req, Res>;
}

export const rpcKit = (runtime: Runtime.Runtime<never>, auth: BerthdConfigShape["auth"]): RpcKit => {
  const withAuth = <A>(metadata: grpc.Metadata, run: (context: CallContext) => Effect.Effect<A, ApiError>): Effect.Effect<A, ApiError> =>
    Effect.suspend(() => Either.match(authenticate(auth, metadata), { onLeft: Effect.fail, onRight: (principal) => run({ principal, metadata }) }));
  const report = (method: string, exit: Exit.Exit<unknown, ApiError>) =>
    Exit.isFailure(exit) && Option.isNone(Cause.failureOption(exit.cause)) && !Cause.isInterruptedOnly(exit.cause)
      ? Runtime.runFork(runtime)(logError("rpc crashed", { method, cause: Cause.pretty(exit.cause) }))
      : undefined;
  return {
    // One fiber per call, observed directly (no promise and no second fiber to await it):
    // this runs on every call berthd answers.
    unary: (method, handler, observe) => (call, callback) => {
      Runtime.runFork(runtime)(withAuth(call.metadata, (context) => handler(call.request, context))).addObserver((exit) => {
        observe?.(exit);
        report(method, exit);
        if (Exit.isSuccess(exit)) callback(null, exit.value);
        else callback(statusOf(exit.cause));
      });
    },
    serverStream: (method, handler, observe) => (call) => {
      const fiber = Runtime.runFork(runtime)(withAuth(call.metadata, (context) => handler(call.request, context, call)));
      const cancel = () => Runtime.runFork(runtime)(Fiber.interrupt(fiber));
      call.on("cancelled", cancel);
      fiber.addObserver((exit) => {
        call.off("cancelled", cancel);
        observe?.(exit);
        report(method, exit);
        if (call.cancelled || call.destroyed) return;
        if (Exit.isSuccess(exit)) call.end();
        else if (!Cause.isInterruptedOnly(exit.cause)) call.emit("error", statusOf(exit.cause));
      });
    },
  };
};
