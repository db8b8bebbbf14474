import type { AutoscalerMemory, MetricSample } from "../autoscaler/types.js";
import type { LeaseSpec } from "../spec/types.js";
import type { Bytes, DurationMs, EpochMs } from "../units.js";

/** The phases of a lease; `transition` (phase.ts) allows only the edges of its table. */
export type LeasePhase = "Pending" | "Placing" | "Loading" | "Ready" | "Expiring" | "Released" | "Failed";

export const LEASE_PHASES: readonly LeasePhase[] = ["Pending", "Placing", "Loading", "Ready", "Expiring", "Released", "Failed"];

/** Why a lease failed, as data; the control plane maps `code` to a gRPC status. */
export type FailureCode =
  /** Nothing fits, even after evicting what may be evicted (gRPC RESOURCE_EXHAUSTED). */
  | "ResourceExhausted"
  /** The sidecar could not load the models. */
  | "LoadFailed"
  /** The lease asks for something no cluster could give (gRPC FAILED_PRECONDITION). */
  | "Unsatisfiable"
  /** The lease names a pool that is not defined or was deleted. */
  | "PoolMissing"
  /** Measured after load, the lease takes more than its pool quota or its server has room for. */
  | "OverQuota"
  /** Its server failed for good (the backend gave up on it); the message carries the server's own words. */
  | "ServerFailed";

export interface LeaseFailure {
  readonly code: FailureCode;
  readonly message: string;
  /** Numbers behind the failure (e.g. `need`, `free`), for the API's error details. */
  readonly details?: Readonly<Record<string, string | number>>;
}

/** A status condition, Kubernetes style: the latest reason per type. */
export interface LeaseCondition {
  readonly type: string;
  readonly status: boolean;
  readonly reason: string;
  readonly at: EpochMs;
}

/** Where a lease is bound: a server (its replicas may sit on several nodes). */
export interface LeasePlacement {
  readonly serverId: string;
  /** True once AssignLease was sent for the current server incarnation. */
  readonly assigned: boolean;
}

/**
 * One lease as the snapshot holds it: plain data. `expiresAt` is a cache of
 * `clock.expiresAt(lease)`, refreshed by decide whenever its inputs change.
 */
export interface LeaseRecord {
  readonly id: string;
  readonly spec: LeaseSpec;
  readonly phase: LeasePhase;
  /** Group (framework family) of its models, from the catalog and DecideConfig. */
  readonly group: string;
  readonly createdAt: EpochMs;
  readonly phaseSince: EpochMs;
  /**
   * When it first became Ready; absent until then. The lease clock runs from here: a lease
   * still being placed or loaded is never expired (it can still be released or fail).
   */
  readonly readyAt?: EpochMs;
  /** Clients that hold the lease (shared ownership); it is released when the last one lets go. */
  readonly holders: readonly string[];
  readonly lastActivityAt: EpochMs;
  /** End of the latest explicit renewal (LeaseRenewed); 0 when never renewed. */
  readonly renewedUntil: EpochMs;
  /** Cached `clock.expiresAt(this)`. */
  readonly expiresAt: EpochMs;
  /** Requests seen in activity reports (a counter, for status and reuse estimates). */
  readonly requests: number;
  /** Recent gaps between activity reports, newest last (bounded), for eviction's reuse estimate. */
  readonly recentGaps: readonly DurationMs[];
  /**
   * When each of `recentGaps` began (the activity before it), aligned with it, for keep-alive
   * policies that follow the time of day. Absent (records stored before it existed): not known.
   */
  readonly recentGapStarts?: readonly EpochMs[];
  readonly placement?: LeasePlacement;
  /**
   * GPU memory per replica the lease takes on its server: the first guess at request time
   * (the measured figure of the same model set, else the declared one), replaced by the
   * measured figure after load.
   */
  readonly memory: Bytes;
  /** GPU memory per replica measured after load (ModelsLoaded). */
  readonly measuredMemory?: Bytes;
  /** Load time measured by the sidecar (ModelsLoaded.loadTime). */
  readonly loadTime?: DurationMs;
  /** Expiring leases kept warm: when the keep-alive policy lets their models go (if not evicted before); absent = until evicted. */
  readonly warmUntil?: EpochMs;
  readonly failure?: LeaseFailure;
  readonly conditions: readonly LeaseCondition[];
  /** Autoscaler state between syncs (bespoke leases with autoscaling). */
  readonly autoscaler?: AutoscalerMemory;
  readonly lastSample?: MetricSample;
  /** When `lastSample` was observed: a sample older than a few sync periods is not acted on (decide/autoscale.ts). */
  readonly lastSampleAt?: EpochMs;
}
