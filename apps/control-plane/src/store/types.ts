import type { Effect, Option, Stream } from "effect";
import type { EpochMs } from "@berth/core/units";
import type { StoreError } from "./errors.js";

/**
 * What the store keeps: any JSON object with a `type` and the time it happened (`at`). The store
 * does not interpret events; decide does (helper code decodes them with Schema on the way out).
 */
export interface StoreEvent {
  readonly type: string;
  readonly at: EpochMs;
}

/** Position in the log: 1 for the first event ever appended, gap-free and never reused. */
export type Seq = number;

/** The leader's term, incremented on every takeover; writes of an older term are refused. */
export type Epoch = number;

export interface StoredEvent {
  readonly seq: Seq;
  /** The leader term that wrote it. */
  readonly epoch: Epoch;
  /** When the store committed it (the store's clock, not the event's `at`). */
  readonly recordedAt: EpochMs;
  readonly event: StoreEvent & { readonly [key: string]: unknown };
}

export interface AppendOptions {
  /**
   * A key the caller chooses per logical request (an API call's request id). A second append
   * with the same key and the same events returns the first one's sequence numbers and writes
   * nothing; with different events it fails with Conflict.
   */
  readonly idempotencyKey?: string;
}

export interface AppendResult {
  readonly firstSeq: Seq;
  readonly lastSeq: Seq;
  /** True when the idempotency key had been seen: nothing was written this time. */
  readonly duplicate: boolean;
}

export interface Snapshot {
  /** The state after applying every event up to and including `seq`. */
  readonly seq: Seq;
  readonly state: unknown;
  readonly takenAt: EpochMs;
}

/** What a restarting berthd needs: the newest snapshot and every event after it. */
export interface Recovery {
  readonly snapshot: Option.Option<Snapshot>;
  readonly events: ReadonlyArray<StoredEvent>;
  /** The last sequence number in the log (0 when empty). */
  readonly headSeq: Seq;
}

export interface CompactOptions {
  /** Events kept before the newest snapshot, for debugging and for followers catching up. */
  readonly keepTail?: number;
  /** Idempotency keys older than this are forgotten. */
  readonly idempotencyTtlMs?: number;
}

export interface CompactResult {
  readonly eventsDeleted: number;
  readonly snapshotsDeleted: number;
  readonly keysDeleted: number;
  /** Every event with seq <= compactedThrough is gone. */
  readonly compactedThrough: Seq;
}

export type LeaderState = { readonly role: "leader"; readonly epoch: Epoch } | { readonly role: "follower" };

export interface Leadership {
  /** This process's name among the replicas (recorded with each takeover). */
  readonly replica: string;
  readonly current: Effect.Effect<LeaderState>;
  /** The current state, then every change. */
  readonly changes: Stream.Stream<LeaderState>;
  /** Waits until this replica leads; returns its epoch. */
  readonly awaitLeader: Effect.Effect<Epoch>;
}

export interface StoreShape {
  readonly dialect: "sqlite" | "postgres" | "memory";
  /** Appends the events in one transaction; they are durable once this succeeds. */
  readonly append: <E extends StoreEvent>(events: ReadonlyArray<E>, options?: AppendOptions) => Effect.Effect<AppendResult, StoreError>;
  /** Events with seq >= fromSeq, in order, at most `limit` of them. */
  readonly readFrom: (fromSeq: Seq, options?: { readonly limit?: number }) => Effect.Effect<ReadonlyArray<StoredEvent>, StoreError>;
  /** Every event from fromSeq to the head as it is when the stream reaches it, read in batches. */
  readonly stream: (fromSeq: Seq, options?: { readonly batchSize?: number }) => Stream.Stream<StoredEvent, StoreError>;
  readonly headSeq: Effect.Effect<Seq, StoreError>;
  readonly saveSnapshot: (seq: Seq, state: unknown) => Effect.Effect<void, StoreError>;
  readonly latest: Effect.Effect<Recovery, StoreError>;
  readonly compact: (options?: CompactOptions) => Effect.Effect<CompactResult, StoreError>;
  /** A small key-value table for settings such as the image allowlist. */
  readonly getConfig: (key: string) => Effect.Effect<Option.Option<unknown>, StoreError>;
  readonly putConfig: (key: string, value: unknown) => Effect.Effect<void, StoreError>;
  readonly deleteConfig: (key: string) => Effect.Effect<boolean, StoreError>;
  readonly listConfig: (prefix?: string) => Effect.Effect<ReadonlyMap<string, unknown>, StoreError>;
  /** The schema version the database is at (the number of the last migration applied). */
  readonly schemaVersion: Effect.Effect<number, StoreError>;
  readonly leadership: Leadership;
}
