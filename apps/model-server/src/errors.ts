// The one error the request path raises. `code` is the protocol-neutral kind; the HTTP and
// gRPC edges map it to their status codes, so both protocols fail the same way.
import { Data } from "effect";
import { status as GrpcStatus } from "@grpc/grpc-js";

export type ServerErrorCode = "InvalidArgument" | "NotFound" | "Unavailable" | "Unsupported" | "Internal";

export class ServerError extends Data.TaggedError("ServerError")<{
  readonly code: ServerErrorCode;
  readonly message: string;
}> {}

export const invalidArgument = (message: string) => new ServerError({ code: "InvalidArgument", message });
export const notFound = (message: string) => new ServerError({ code: "NotFound", message });
export const unavailable = (message: string) => new ServerError({ code: "Unavailable", message });
export const unsupported = (message: string) => new ServerError({ code: "Unsupported", message });
export const internal = (message: string) => new ServerError({ code: "Internal", message });

/** Any thrown value as a ServerError (an unexpected one becomes Internal). */
export function asServerError(e: unknown): ServerError {
  if (e instanceof ServerError) return e;
  return internal(e instanceof Error ? e.message : String(e));
}

export function httpStatusOf(code: ServerErrorCode): number {
  switch (code) {
    case "InvalidArgument":
      return 400;
    case "NotFound":
      return 404;
    case "Unavailable":
      return 503;
    case "Unsupported":
      return 501;
    case "Internal":
      return 500;
  }
}

export function grpcStatusOf(code: ServerErrorCode): GrpcStatus {
  switch (code) {
    case "InvalidArgument":
      return GrpcStatus.INVALID_ARGUMENT;
    case "NotFound":
      return GrpcStatus.NOT_FOUND;
    case "Unavailable":
      return GrpcStatus.UNAVAILABLE;
    case "Unsupported":
      return GrpcStatus.UNIMPLEMENTED;
    case "Internal":
      return GrpcStatus.INTERNAL;
  }
}
