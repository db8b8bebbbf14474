// The messages of berth/v1/{lease,pool,admin}.proto as @grpc/proto-loader decodes them with
// BERTH_LOADER_OPTIONS: camelCase field names, int64 as numbers, enums as their proto names
// ("LEASE_PHASE_READY"), defaults filled in. Unset message fields decode as null; when
// sending, any field may be left out (the `*Input` types say so with Partial).

/** google.protobuf.Timestamp: seconds and nanos since the epoch. */
export interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

/** google.protobuf.Duration. */
export interface Duration {
  readonly seconds: number;
  readonly nanos: number;
}

export type LeasePhaseName =
  | "LEASE_PHASE_UNSPECIFIED"
  | "LEASE_PHASE_PENDING"
  | "LEASE_PHASE_PLACING"
  | "LEASE_PHASE_LOADING"
  | "LEASE_PHASE_READY"
  | "LEASE_PHASE_EXPIRING"
  | "LEASE_PHASE_RELEASED"
  | "LEASE_PHASE_FAILED";

export interface ModelRef {
  readonly name: string;
  /** 0 = the repository's latest version. */
  readonly version: number;
  /** Empty = the configured default repository. */
  readonly repository: string;
}

/** Quantities are strings in Kubernetes' forms ("4Gi", "500m"); berthd validates them. */
export interface Resources {
  readonly gpuMemory: string;
  readonly gpus: number;
  readonly gpuMilli: number;
  readonly cpu: string;
  readonly memory: string;
  readonly gpuModels: readonly string[];
}

export interface Renewal {
  readonly enabled: boolean;
  readonly activityWindow: string;
}

export interface Autoscaling {
  readonly metric: string;
  readonly target: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** "hpa" or "berth". */
  readonly policy: string;
  /** "hpa" (the backend's autoscaler) or "builtin" (berthd's); empty: the backend's default. */
  readonly mode: string;
}

export interface Colocation {
  readonly with: readonly string[];
  readonly notWith: readonly string[];
}

export interface LeaseSpec {
  readonly name: string;
  readonly models: readonly ModelRef[];
  /** Empty = a bespoke server for this lease. */
  readonly pool: string;
  readonly quota: string;
  readonly resources: Resources | null;
  readonly image: string;
  readonly minDuration: string;
  readonly renewal: Renewal | null;
  readonly autoscaling: Autoscaling | null;
  readonly colocation: Colocation | null;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Condition {
  readonly type: string;
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
  readonly lastTransition: Timestamp | null;
}

export interface Placement {
  readonly serverId: string;
  readonly node: string;
  readonly gpuIndices: readonly number[];
  readonly replicas: number;
  readonly readyReplicas: number;
  /** The replicas' KServe v2 HTTP endpoints ("host:port"), sorted. */
  readonly endpoints: readonly string[];
  /** Their KServe v2 gRPC endpoints, index for index with `endpoints` ("" where unknown). */
  readonly grpcEndpoints: readonly string[];
}

export interface Lease {
  readonly id: string;
  readonly name: string;
  readonly tenant: string;
  readonly spec: LeaseSpec | null;
  readonly phase: LeasePhaseName;
  readonly placement: Placement | null;
  readonly createdAt: Timestamp | null;
  readonly heldUntil: Timestamp | null;
  readonly expiresAt: Timestamp | null;
  readonly lastActivityAt: Timestamp | null;
  readonly conditions: readonly Condition[];
  readonly failureReason: string;
  readonly failureMessage: string;
  readonly generation: number;
}

export interface CreateLeaseRequest {
  readonly spec: LeaseSpec | null;
  readonly wait: boolean;
  readonly waitTimeout: Duration | null;
}

export interface CreateLeaseProgress {
  readonly lease: Lease | null;
  readonly message: string;
  readonly done: boolean;
}

export interface GetLeaseRequest {
  /** A lease name or id. */
  readonly name: string;
}

export interface ListLeasesRequest {
  readonly tenant: string;
  readonly phases: readonly LeasePhaseName[];
  readonly labelSelector: string;
  /** 0 = every matching lease; > 0 = at most this many (berthd caps it at 1000); < 0 is INVALID_ARGUMENT. */
  readonly pageSize: number;
  /** A previous response's nextPageToken, sent with the same tenant, phases and labelSelector. */
  readonly pageToken: string;
}

export interface ListLeasesResponse {
  readonly leases: readonly Lease[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
}

export interface RenewLeaseRequest {
  readonly name: string;
  /** Empty = extend by the lease's own activity window. */
  readonly extendBy: string;
}

export interface ReleaseLeaseRequest {
  readonly name: string;
}

export interface WatchLeasesRequest {
  readonly tenant: string;
  readonly name: string;
}

export type LeaseEventType = "TYPE_UNSPECIFIED" | "TYPE_ADDED" | "TYPE_MODIFIED" | "TYPE_DELETED";

export interface LeaseEvent {
  readonly type: LeaseEventType;
  readonly lease: Lease | null;
}

export interface ExplainLeaseRequest {
  readonly name: string;
}

export interface Reason {
  readonly plugin: string;
  readonly reason: string;
  readonly need: number;
  readonly free: number;
}

export interface CandidateVerdict {
  readonly candidate: string;
  /** "Fits", "NotNow", "Never", "Evict", "Keep", "Protected". */
  readonly code: string;
  readonly score: number;
  readonly reasons: readonly Reason[];
}

/** A scaling decision's step: replicas before and after, and the autoscaler's reading and rule. */
export interface ScalingStep {
  readonly from: number;
  readonly to: number;
  readonly reason: Readonly<Record<string, string>>;
}

export interface Decision {
  readonly at: Timestamp | null;
  /** "placement", "eviction", "scaling", "expiry". */
  readonly kind: string;
  readonly policy: string;
  readonly outcome: string;
  readonly verdicts: readonly CandidateVerdict[];
  /** Set on "scaling" decisions. */
  readonly scaling: ScalingStep | null;
}

export interface ExplainLeaseResponse {
  readonly lease: Lease | null;
  readonly decisions: readonly Decision[];
}

// ---- pool.proto ----

export interface PoolSpec {
  readonly name: string;
  readonly image: string;
  readonly resources: Resources | null;
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly quotaPerInstance: string;
  readonly group: string;
}

export interface Pool {
  readonly spec: PoolSpec | null;
  readonly instances: number;
}

export interface InstanceUse {
  readonly serverId: string;
  readonly quotaBytes: number;
  readonly committedBytes: number;
  readonly leases: readonly string[];
}

export interface PoolStatus {
  readonly pool: Pool | null;
  readonly instances: readonly InstanceUse[];
}

export interface CreatePoolRequest {
  readonly spec: PoolSpec | null;
}
export interface GetPoolRequest {
  readonly name: string;
}
export type ListPoolsRequest = Record<string, never>;
export interface ListPoolsResponse {
  readonly pools: readonly Pool[];
}
export interface DeletePoolRequest {
  readonly name: string;
}

// ---- admin.proto ----

export interface AllowlistRequest {
  readonly images: readonly string[];
}
export type ListAllowlistRequest = Record<string, never>;
export interface Allowlist {
  readonly images: readonly string[];
}

export interface GpuUse {
  readonly index: number;
  readonly model: string;
  readonly memoryBytes: number;
  readonly committedBytes: number;
  readonly measuredBytes: number;
}

export interface Server {
  readonly id: string;
  /** "Starting", "Ready", "Down", "Deleting". */
  readonly state: string;
  readonly group: string;
  readonly pool: string;
  readonly node: string;
  readonly image: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly gpus: readonly GpuUse[];
  readonly memoryCommittedBytes: number;
  readonly memoryMeasuredBytes: number;
  readonly leases: readonly string[];
  /** The replicas' KServe v2 HTTP endpoints ("host:port"), sorted. */
  readonly endpoints: readonly string[];
  /** Their KServe v2 gRPC endpoints, index for index with `endpoints` ("" where unknown). */
  readonly grpcEndpoints: readonly string[];
}

export type ListServersRequest = Record<string, never>;
export interface ListServersResponse {
  readonly servers: readonly Server[];
}
export interface GetServerRequest {
  readonly id: string;
}

export interface ModelInfo {
  readonly repository: string;
  readonly name: string;
  readonly versions: readonly number[];
  readonly platform: string;
  readonly group: string;
  readonly sizeBytes: number;
}

export interface ListModelsRequest {
  readonly repository: string;
}
export interface ListModelsResponse {
  readonly models: readonly ModelInfo[];
}

/**
 * What a sender may write: every field optional (proto3 defaults fill the gaps), nested
 * messages likewise. `null` is accepted where the decoded form has it.
 */
export type Input<T> = T extends readonly (infer E)[]
  ? readonly Input<E>[]
  : T extends object
    ? { readonly [K in keyof T]?: Input<T[K]> | null }
    : T;
