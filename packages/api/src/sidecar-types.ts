// The messages of berth/v1/sidecar.proto as @grpc/proto-loader decodes them with
// SIDECAR_LOADER_OPTIONS: field names as in the proto (keepCase), int64 as numbers, defaults
// filled in, and each oneof's chosen field named by a virtual field (`report`, `state`).

export interface SidecarModelRef {
  readonly name: string;
  /** 0 = the repository's version policy decides. */
  readonly version: number;
  /** Empty = the sidecar's first (default) repository. */
  readonly repository: string;
}

export interface AssignedLease {
  readonly lease_id: string;
  readonly lease_name: string;
  readonly models: readonly SidecarModelRef[];
}

/** berthd -> sidecar: the complete desired state of one server. */
export interface Assignment {
  readonly generation: number;
  readonly leases: readonly AssignedLease[];
}

export interface Hello {
  readonly server_id: string;
  readonly replica_id: string;
  readonly server_endpoint: string;
  readonly loaded_models: readonly string[];
  readonly generation: number;
}

export interface ModelMemory {
  readonly model: string;
  readonly memory_bytes: number;
}

export interface LeaseLoaded {
  readonly measured_memory_bytes: number;
  readonly load_time_ms: number;
  readonly models: readonly ModelMemory[];
}

export interface LeaseFailed {
  readonly error: string;
  readonly model: string;
}

/** One of a lease's states on this server (the proto's `state` oneof). */
export type LeaseState =
  | { readonly state?: "loaded"; readonly loaded: LeaseLoaded }
  | { readonly state?: "failed"; readonly failed: LeaseFailed }
  | { readonly state?: "unloaded"; readonly unloaded: Record<string, never> };

export type LeaseStatus = {
  readonly lease_id: string;
  readonly generation: number;
} & LeaseState;

/**
 * One model's load on one replica over `interval_ms` (deltas of the statistics extension's
 * cumulative counters). Definitions: rps = requests_completed / interval; queue_time =
 * queue_ns_delta / queue_count_delta (ms); inflight = (queue_ns_delta + compute_ns_delta) / interval.
 */
export interface ModelMetrics {
  readonly interval_ms: number;
  readonly requests_completed: number;
  readonly requests_failed: number;
  readonly queue_count_delta: number;
  readonly queue_ns_delta: number;
  readonly compute_ns_delta: number;
  readonly queue_time_ms: number;
  readonly inflight: number;
  readonly rps: number;
  readonly counters_reset: boolean;
}

export interface ModelActivity {
  readonly model: string;
  readonly inference_count_delta: number;
  readonly execution_count_delta: number;
  readonly last_inference_ms: number;
  /** Absent (null when decoded) without a baseline and from older sidecars. */
  readonly metrics?: ModelMetrics | null;
}

export interface Activity {
  readonly models: readonly ModelActivity[];
}

export interface ServerHealth {
  readonly ready: boolean;
  readonly message: string;
}

/** sidecar -> berthd. When sending, set exactly one field; when receiving, `report` names it. */
export type SidecarReport =
  | { readonly report?: "hello"; readonly hello: Hello }
  | { readonly report?: "lease"; readonly lease: LeaseStatus }
  | { readonly report?: "activity"; readonly activity: Activity }
  | { readonly report?: "health"; readonly health: ServerHealth };
