// gRPC status codes and the rich error model berthd uses: an INVALID_ARGUMENT carries every
// field problem as a google.rpc.BadRequest inside a google.rpc.Status, in the standard
// `grpc-status-details-bin` trailer (what grpcio-status in Python and Go's status package
// read). Clients that ignore the detail still get every problem in the status message.
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";

/** "OK", "NOT_FOUND", ... for a numeric gRPC status code; "UNKNOWN_<n>" for a code gRPC does not define. */
export function grpcStatusName(code: number): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code];
  return typeof name === "string" ? name : `UNKNOWN_${code}`;
}

/** A failed call's error from @grpc/grpc-js (code, details, metadata). */
export function isServiceError(error: unknown): error is grpc.ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<grpc.ServiceError>).code === "number" &&
    (error as Partial<grpc.ServiceError>).metadata instanceof grpc.Metadata
  );
}

/** One bad field: a path like `resources.gpuMemory` or `models[1]`, and what is wrong. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
const BAD_REQUEST_TYPE_URL = "type.googleapis.com/google.rpc.BadRequest";

// google/rpc/status.proto and google/rpc/error_details.proto (BadRequest only), as protobufjs JSON.
const rpcRoot = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { type_url: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } } } } },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: "int32", id: 1 },
                message: { type: "string", id: 2 },
                details: { rule: "repeated", type: "google.protobuf.Any", id: 3 },
              },
            },
            BadRequest: {
              fields: { field_violations: { rule: "repeated", type: "FieldViolation", id: 1 } },
              nested: { FieldViolation: { fields: { field: { type: "string", id: 1 }, description: { type: "string", id: 2 } } } },
            },
          },
        },
      },
    },
  },
});
const StatusType = rpcRoot.lookupType("google.rpc.Status");
const BadRequestType = rpcRoot.lookupType("google.rpc.BadRequest");

interface DecodedStatus {
  readonly details?: readonly { readonly type_url?: string; readonly value?: Uint8Array }[];
}
interface DecodedBadRequest {
  readonly field_violations?: readonly { readonly field?: string; readonly description?: string }[];
}

/**
 * The error a server hands to a gRPC callback (or `call.destroy`) for a rejected request: code
 * INVALID_ARGUMENT, every violation in the BadRequest detail and, one per line, in the message.
 */
export function invalidArgumentError(summary: string, violations: readonly FieldViolation[]): Partial<grpc.StatusObject> & Error & { code: grpc.status } {
  const badRequest = BadRequestType.encode(BadRequestType.fromObject({ field_violations: violations })).finish();
  const status = StatusType.encode(
    StatusType.fromObject({
      code: grpc.status.INVALID_ARGUMENT,
      message: summary,
      details: [{ type_url: BAD_REQUEST_TYPE_URL, value: badRequest }],
    }),
  ).finish();
  const metadata = new grpc.Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(status));
  const lines = violations.map((v) => (v.field === "" ? v.description : `${v.field}: ${v.description}`));
  const details = [summary, ...lines].join("\n");
  return Object.assign(new Error(details), { code: grpc.status.INVALID_ARGUMENT, details, metadata });
}

/** The field violations of a failed call's BadRequest detail; empty when it carries none. */
export function fieldViolationsOf(error: grpc.ServiceError): FieldViolation[] {
  const raw = error.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (raw === undefined || typeof raw === "string") return [];
  try {
    const status = StatusType.toObject(StatusType.decode(raw)) as DecodedStatus;
    const out: FieldViolation[] = [];
    for (const detail of status.details ?? []) {
      if (detail.type_url !== BAD_REQUEST_TYPE_URL || detail.value === undefined) continue;
      const badRequest = BadRequestType.toObject(BadRequestType.decode(detail.value)) as DecodedBadRequest;
      for (const v of badRequest.field_violations ?? []) out.push({ field: v.field ?? "", description: v.description ?? "" });
    }
    return out;
  } catch {
    // A detail we cannot read is no worse than no detail: the status message still says what is wrong.
    return [];
  }
}
