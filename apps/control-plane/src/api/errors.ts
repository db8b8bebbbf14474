import * as grpc from "@grpc/grpc-js";
import { Data } from "effect";
import type { LeaseFailure, Rejection, SpecErrors } from "@berth/core";
import { invalidArgumentError, type FieldViolation } from "@berth/api/berth";
import type { StoreError } from "../store/errors.js";
import type { RepositoryLookupError } from "../repositories/repositories.js";

/** What an API call answers when it fails: a gRPC status code, a message, and for bad input every field. */
export class ApiError extends Data.TaggedError("ApiError")<{
  readonly code: grpc.status;
  readonly message: string;
  readonly violations?: readonly FieldViolation[];
}> {}

export const apiError = (code: grpc.status, message: string, violations?: readonly FieldViolation[]): ApiError =>
  new ApiError({ code, message, ...(violations !== undefined ? { violations } : {}) });

export const notFound = (message: string) => apiError(grpc.status.NOT_FOUND, message);
export const permissionDenied = (message: string) => apiError(grpc.status.PERMISSION_DENIED, message);
export const invalidArgument = (message: string, violations: readonly FieldViolation[] = []) => apiError(grpc.status.INVALID_ARGUMENT, message, violations);

/** Every problem of a spec, each with its field path, as INVALID_ARGUMENT. */
export const fromSpecErrors = (errors: SpecErrors, prefix = ""): ApiError =>
  invalidArgument(
    errors.message,
    errors.problems.map((p) => ({ field: prefix === "" ? p.path : p.path === "" ? prefix : `${prefix}.${p.path}`, description: p.message })),
  );

const REJECTION_CODES: Readonly<Record<Rejection["code"], grpc.status>> = {
  AlreadyExists: grpc.status.ALREADY_EXISTS,
  NotFound: grpc.status.NOT_FOUND,
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  FailedPrecondition: grpc.status.FAILED_PRECONDITION,
  Internal: grpc.status.INTERNAL,
};

export const fromRejection = (rejection: Rejection): ApiError => apiError(REJECTION_CODES[rejection.code], rejection.message);

/** A lease that failed at once (no room, cannot ever fit, no pool) fails its Create with the matching code. */
export const fromImmediateFailure = (failure: LeaseFailure): ApiError | undefined => {
  const details = failure.details === undefined ? "" : ` (${Object.entries(failure.details).map(([k, v]) => `${k}=${v}`).join(", ")})`;
  switch (failure.code) {
    case "ResourceExhausted":
      return apiError(grpc.status.RESOURCE_EXHAUSTED, `${failure.message}${details}`);
    case "Unsatisfiable":
      return apiError(grpc.status.FAILED_PRECONDITION, `${failure.message}${details}`);
    case "PoolMissing":
      return apiError(grpc.status.NOT_FOUND, failure.message);
    default:
      return undefined;
  }
};

export const fromStoreError = (error: StoreError): ApiError =>
  apiError(error.reason === "Fenced" ? grpc.status.UNAVAILABLE : error.reason === "Conflict" ? grpc.status.ABORTED : grpc.status.UNAVAILABLE, `store: ${error.message}`);

export const fromRepositoryError = (error: RepositoryLookupError): ApiError =>
  apiError(error.reason === "Unavailable" ? grpc.status.UNAVAILABLE : grpc.status.NOT_FOUND, error.message);

/** The object grpc-js sends as the status (INVALID_ARGUMENT with the BadRequest detail in the trailer). */
export const toServiceError = (error: ApiError): Partial<grpc.StatusObject> & Error => {
  if (error.code === grpc.status.INVALID_ARGUMENT && error.violations !== undefined && error.violations.length > 0) {
    return invalidArgumentError(error.message.split("\n")[0]!, error.violations);
  }
  return Object.assign(new Error(error.message), { code: error.code, details: error.message, metadata: new grpc.Metadata() });
};
