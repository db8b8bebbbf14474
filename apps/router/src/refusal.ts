// Why the router answers a request itself instead of forwarding it, as data; each front end
// (HTTP, gRPC) maps the reason to its own status.
export type RefusalReason =
  /** No Ready (or warm) lease holds the model, and it has no auto-lease policy. */
  | "NoLease"
  /** Leases hold the model but every replica is marked down. */
  | "AllReplicasDown"
  /** Auto-lease in reject mode: a lease was asked for; come back after Retry-After. */
  | "AutoLeaseRejected"
  /** Auto-lease in hold mode, with the model's queue already at its cap. */
  | "QueueFull"
  /** Auto-lease in hold mode, and no lease appeared within the timeout. */
  | "HoldTimedOut"
  /** Asking for the lease failed. */
  | "AutoLeaseFailed"
  /** The router is shutting down. */
  | "Closing";

export interface Refusal {
  readonly kind: "refused";
  readonly reason: RefusalReason;
  readonly message: string;
  readonly retryAfterS?: number;
}

export const refusal = (reason: RefusalReason, message: string, retryAfterS?: number): Refusal =>
  retryAfterS === undefined ? { kind: "refused", reason, message } : { kind: "refused", reason, message, retryAfterS };

/** HTTP status for each reason: 404 only when nothing holds the model; the rest are "not now". */
export const HTTP_STATUS: Readonly<Record<RefusalReason, number>> = {
  NoLease: 404,
  AllReplicasDown: 503,
  AutoLeaseRejected: 503,
  QueueFull: 503,
  HoldTimedOut: 503,
  AutoLeaseFailed: 503,
  Closing: 503,
};
