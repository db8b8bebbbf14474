import { Data } from "effect";

/**
 * Why a store operation failed. Callers branch on these, so they are data, not message text:
 * - Unavailable: the database cannot be reached or is held by another process (retry later);
 * - Conflict: the request disagrees with what is stored (an idempotency key reused for
 *   different events, a snapshot beyond the head of the log);
 * - Fenced: this replica is not (or no longer) the leader, so it may not write;
 * - Corrupt: what is stored breaks the store's invariants (do not guess: stop);
 * - NewerSchema: the database was migrated by a newer Berth than this one;
 * - Compacted: the events asked for were removed by compaction (start from the snapshot);
 * - Invalid: the caller handed something the store cannot keep (non-JSON, bad sequence number).
 */
export type StoreErrorReason = "Unavailable" | "Conflict" | "Fenced" | "Corrupt" | "NewerSchema" | "Compacted" | "Invalid";

export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: StoreErrorReason;
  readonly message: string;
  readonly cause?: unknown;
  /** True when running the same operation again may succeed and cannot apply it twice. */
  readonly retryable?: boolean;
}> {}

export const storeError = (reason: StoreErrorReason, message: string, extra: { cause?: unknown; retryable?: boolean } = {}): StoreError =>
  new StoreError({ reason, message, ...extra });
