// Exit codes: one per kind of outcome a script may want to tell apart, most from the gRPC
// status berthd answered with. (No effect imports on the CLI's start-up path: loading effect
// and the spec Schemas costs most of a second, so only the verbs that validate load them.)
import { status } from "@grpc/grpc-js";

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  InvalidArgument: 3,
  NotFound: 4,
  AlreadyExists: 5,
  FailedPrecondition: 6,
  ResourceExhausted: 7,
  Unauthorized: 8,
  Unavailable: 9,
  Timeout: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table `berth --help` and the README show. */
export const EXIT_CODE_HELP: readonly (readonly [ExitCode, string])[] = [
  [ExitCode.Ok, "success (for lease create --wait: the lease is Ready)"],
  [ExitCode.Failure, "failure (for lease create --wait: the lease Failed; the reason is printed)"],
  [ExitCode.Usage, "usage error: unknown command or flag, bad flag value"],
  [ExitCode.InvalidArgument, "invalid argument: the spec has problems (every field path is printed)"],
  [ExitCode.NotFound, "not found"],
  [ExitCode.AlreadyExists, "already exists"],
  [ExitCode.FailedPrecondition, "failed precondition (e.g. image not on the allowlist)"],
  [ExitCode.ResourceExhausted, "resource exhausted (no capacity, quota)"],
  [ExitCode.Unauthorized, "unauthenticated or permission denied"],
  [ExitCode.Unavailable, "berthd unavailable (not running or not reachable at the address)"],
  [ExitCode.Timeout, "timed out (waiting, or the call's deadline)"],
];

/** A gRPC status code -> the CLI's exit code. */
export const exitCodeForGrpcStatus = (code: number): ExitCode => {
  switch (code) {
    case status.OK: return ExitCode.Ok;
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE: return ExitCode.InvalidArgument;
    case status.NOT_FOUND: return ExitCode.NotFound;
    case status.ALREADY_EXISTS: return ExitCode.AlreadyExists;
    case status.FAILED_PRECONDITION:
    case status.ABORTED: return ExitCode.FailedPrecondition;
    case status.RESOURCE_EXHAUSTED: return ExitCode.ResourceExhausted;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED: return ExitCode.Unauthorized;
    case status.UNAVAILABLE: return ExitCode.Unavailable;
    case status.DEADLINE_EXCEEDED: return ExitCode.Timeout;
    default: return ExitCode.Failure;
  }
};

/** A failure the CLI explains itself: a message, more lines under it, and the exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: readonly string[];
  constructor(fields: { readonly exitCode: ExitCode; readonly message: string; readonly details?: readonly string[] }) {
    super(fields.message);
    this.name = "CliError";
    this.exitCode = fields.exitCode;
    this.details = fields.details ?? [];
  }
}

export const usageError = (message: string, hint?: string): CliError =>
  new CliError({ exitCode: ExitCode.Usage, message, details: hint === undefined ? [] : [hint] });
