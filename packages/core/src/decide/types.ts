import type { MetricSample } from "../autoscaler/types.js";
import type { ClusterNode, GpuAssignment, NodeUse } from "../cluster/types.js";
import type { EvictionVerdict } from "../eviction/types.js";
import type { FleetGaps } from "../eviction/fleet-gaps.js";
import type { LeaseFailure, LeasePhase, LeaseRecord } from "../lease/types.js";
import type { CandidateVerdict } from "../placement/types.js";
import type { LeaseSpec, ModelRef, PoolSpec, ServerTemplate } from "../spec/types.js";
import type { Bytes, DurationMs, EpochMs } from "../units.js";

export type { LeaseFailure, LeasePhase, LeaseRecord } from "../lease/types.js";

// ---------------------------------------------------------------------------------------------
// Snapshot: everything decide knows, as plain serialisable data (JSON round-trips it).
// Records are keyed by id; iteration order never matters because decide sorts keys
// wherever order could change an outcome.
// ---------------------------------------------------------------------------------------------

/** Where one replica of a server runs. */
export interface ReplicaPlacement {
  readonly node: string;
  readonly gpus: readonly GpuAssignment[];
}

/** Starting: asked for, not yet seen up. Ready: seen up. Down: seen down (restarting). */
export type ServerState = "Starting" | "Ready" | "Down";

export interface ServerRecord {
  readonly id: string;
  /** Bespoke servers belong to one lease (`owner`); pool servers are instances of `pool`. */
  readonly kind: "bespoke" | "pool";
  readonly owner?: string;
  readonly pool?: string;
  readonly group: string;
  readonly template: ServerTemplate;
  /** GPU memory each replica offers to leases (the template's declared GPU memory). */
  readonly capacity: Bytes;
  readonly state: ServerState;
  /** One entry per desired replica; `replicas.length` is the desired replica count. */
  readonly replicas: readonly ReplicaPlacement[];
  readonly readyReplicas: number;
  /** Ids of leases bound to this server, sorted. */
  readonly leases: readonly string[];
  readonly createdAt: EpochMs;
  /**
   * "backend": the backend's own autoscaler (a Kubernetes HorizontalPodAutoscaler) decides its
   * replica count, reported in ServerObserved.scaledTo; berthd's autoscaler leaves it alone.
   */
  readonly scaledBy?: "backend";
}

/**
 * A node with what Berth's servers commit on it. `gpuGroups[g]` is the group on GPU g, null
 * when none (null, not undefined, so that the snapshot survives JSON).
 */
export interface NodeRecord {
  readonly node: ClusterNode;
  readonly use: NodeUse;
  readonly gpuGroups: readonly (string | null)[];
}

/** What the catalog knows of one model (from LeaseRequested.models or ModelsCatalogued). */
export interface ModelFacts {
  readonly model: ModelRef;
  /** Backend platform (`onnxruntime_onnx`, `pytorch_libtorch`...); DecideConfig maps it to a group. */
  readonly platform?: string;
  /** Explicit group; wins over the platform's. */
  readonly group?: string;
  readonly size?: Bytes;
  readonly loadTime?: DurationMs;
}

/** Figures measured after a load, per model set (`modelSetKey`), used as the next first guess. */
export interface MeasuredFacts {
  readonly memory: Bytes;
  readonly loadTime?: DurationMs;
  readonly at: EpochMs;
}

export interface Catalog {
  /** By `modelKey(ref)`. */
  readonly models: Readonly<Record<string, ModelFacts>>;
  /** By `modelSetKey(refs)`. */
  readonly measured: Readonly<Record<string, MeasuredFacts>>;
}

export type DecisionKind = "Placement" | "Eviction" | "Scaling" | "Expiry";

/** One explained decision (`berth lease explain`): what was chosen and every candidate's verdict. */
export interface DecisionRecord {
  readonly seq: number;
  readonly at: EpochMs;
  readonly kind: DecisionKind;
  readonly leaseId: string;
  readonly leaseName: string;
  /** Policy names involved (`server:<policy>`, node placement, eviction or autoscaler policy). */
  readonly policy: string;
  /** What happened, as a word: BoundToServer, NewServer, Exhausted, Evicted, Scaled, Expired, KeptWarm... */
  readonly outcome: string;
  readonly serverId?: string;
  readonly node?: string;
  /** Verdict per existing server (lease -> server binding). */
  readonly serverVerdicts?: readonly CandidateVerdict[];
  /** Verdict per node (new server placement), from the node-level policy. */
  readonly nodeVerdicts?: readonly CandidateVerdict[];
  readonly evictionVerdicts?: readonly EvictionVerdict[];
  readonly victims?: readonly string[];
  /** Eviction: the lease (id) the room was made for. */
  readonly beneficiary?: string;
  readonly scaling?: { readonly from: number; readonly to: number; readonly reason: Readonly<Record<string, string | number>> };
  readonly failure?: LeaseFailure;
}

export interface Snapshot {
  /** Time of the latest event (decide sets it from `event.at`; it never moves back). */
  readonly now: EpochMs;
  readonly leases: Readonly<Record<string, LeaseRecord>>;
  /** Name -> id of the lease that owns the name (non-terminal, not Expiring). */
  readonly names: Readonly<Record<string, string>>;
  readonly servers: Readonly<Record<string, ServerRecord>>;
  readonly nodes: Readonly<Record<string, NodeRecord>>;
  readonly pools: Readonly<Record<string, PoolSpec>>;
  readonly catalog: Catalog;
  /** Newest last, at most DecideConfig.decisionLogLimit entries. */
  readonly decisions: readonly DecisionRecord[];
  /** Counter for server ids and decision sequence numbers. */
  readonly nextId: number;
  /** State of the seeded Rng (`rngFromSeed(rngState)` resumes it). */
  readonly rngState: number;
  /** When the autoscalers last ran (Tick runs them every DecideConfig.autoscaler.syncPeriod). */
  readonly lastAutoscaleAt: EpochMs;
  /**
   * When warm leases were evicted while their keep-alive still held them (memory pressure for
   * the keep-alive policy, decide/pressure.ts), ascending; each new one drops those more than
   * a day old, so it stays bounded. Absent: none (snapshots stored before it existed read the same).
   */
  readonly warmEvictions?: readonly EpochMs[];
  /**
   * Every lease's idle gaps so far, binned, for the pooled keep-alive prior (decide/fleet-gaps.ts);
   * kept only while the Berth keep-alive is configured. Absent: none seen.
   */
  readonly fleetGaps?: FleetGaps;
}

// ---------------------------------------------------------------------------------------------
// Events: every source (API, timers, backend watches, sidecar reports) becomes one of these.
// Each carries `at`; decide sets `snapshot.now = max(now, at)`.
// ---------------------------------------------------------------------------------------------

export type Event =
  | {
      readonly _tag: "LeaseRequested";
      readonly at: EpochMs;
      /** Id chosen by the caller (the store's key); must be new. */
      readonly id: string;
      readonly spec: LeaseSpec;
      /** Catalog facts of the spec's models the caller looked up (platform, size...). */
      readonly models?: readonly ModelFacts[];
      /** The client asking; first holder of the lease. Defaults to the spec's tenant. */
      readonly holder?: string;
    }
  | {
      readonly _tag: "LeaseRenewed";
      readonly at: EpochMs;
      readonly name: string;
      /** A client joining or renewing as holder (shared ownership). */
      readonly by?: string;
      /** Extension from `at`; defaults to the lease's minimum duration. */
      readonly duration?: DurationMs;
    }
  | {
      readonly _tag: "LeaseReleased";
      readonly at: EpochMs;
      readonly name: string;
      /** The holder letting go; without it (or when it is the last holder) the lease is released. */
      readonly by?: string;
    }
  | {
      readonly _tag: "ServerObserved";
      readonly at: EpochMs;
      readonly serverId: string;
      /** Up: serving; Down: not serving, expected back (restart); Gone: will not come back. */
      readonly state: "Up" | "Down" | "Gone";
      readonly readyReplicas: number;
      /**
       * Gone only: the server failed for good (it crashed until its backend gave up, or could not
       * be made at all), in the backend's words with the end of its logs. Its leases then fail
       * (ServerFailed) with this message instead of being placed again, since the same server
       * would fail the same way. Absent: the server merely vanished; its leases are placed again.
       */
      readonly failure?: string;
      /**
       * The backend's own autoscaler (a Kubernetes HorizontalPodAutoscaler, `hpa` mode) scaled the
       * server to this many replicas. A bespoke autoscaled server follows within its lease's
       * [minReplicas, maxReplicas] and what fits (ScaleServer carries the placements), and from
       * then on berthd's autoscaler leaves it to the backend. Applied before `state`.
       */
      readonly scaledTo?: number;
    }
  | { readonly _tag: "NodeObserved"; readonly at: EpochMs; readonly node: ClusterNode }
  | {
      readonly _tag: "ModelsLoaded";
      readonly at: EpochMs;
      readonly serverId: string;
      readonly leaseId: string;
      /** GPU memory the lease's models take per replica, measured after load. */
      readonly measuredMemory: Bytes;
      readonly loadTime?: DurationMs;
    }
  | { readonly _tag: "ModelsFailed"; readonly at: EpochMs; readonly serverId: string; readonly leaseId: string; readonly error: string }
  | {
      readonly _tag: "Activity";
      readonly at: EpochMs;
      /** The lease by name, or every live lease holding `model` (`name` or `repository/name`). */
      readonly lease?: string;
      readonly model?: string;
      readonly requests: number;
    }
  | { readonly _tag: "MetricObserved"; readonly at: EpochMs; readonly leaseId: string; readonly sample: MetricSample }
  | { readonly _tag: "PoolDefined"; readonly at: EpochMs; readonly spec: PoolSpec }
  | { readonly _tag: "PoolDeleted"; readonly at: EpochMs; readonly name: string }
  | { readonly _tag: "ModelsCatalogued"; readonly at: EpochMs; readonly models: readonly ModelFacts[] }
  | { readonly _tag: "Tick"; readonly at: EpochMs };

export type EventTag = Event["_tag"];
export type EventOf<T extends EventTag> = Extract<Event, { readonly _tag: T }>;

// ---------------------------------------------------------------------------------------------
// Intents: what the executor (control plane) or the simulated executor must make true.
// ---------------------------------------------------------------------------------------------

export type Intent =
  | {
      readonly _tag: "EnsureServer";
      readonly serverId: string;
      /** Node and GPUs of the first replica (the common case); `placements` has all of them. */
      readonly node: string;
      readonly gpus: readonly GpuAssignment[];
      readonly template: ServerTemplate;
      readonly replicas: number;
      readonly placements: readonly ReplicaPlacement[];
      readonly pool?: string;
      readonly owner?: string;
    }
  | { readonly _tag: "DeleteServer"; readonly serverId: string }
  | { readonly _tag: "ScaleServer"; readonly serverId: string; readonly replicas: number; readonly placements: readonly ReplicaPlacement[] }
  | { readonly _tag: "AssignLease"; readonly serverId: string; readonly leaseId: string; readonly models: readonly ModelRef[] }
  | {
      readonly _tag: "UnassignLease";
      readonly serverId: string;
      readonly leaseId: string;
      /** Models no other live lease on the server holds: these are unloaded. */
      readonly unload: readonly ModelRef[];
    }
  | { readonly _tag: "MarkFailed"; readonly leaseId: string; readonly reason: LeaseFailure }
  | { readonly _tag: "RecordDecision"; readonly decision: DecisionRecord };

export type IntentTag = Intent["_tag"];

/** An event decide refused (the snapshot is unchanged by it); the API maps `code` to a gRPC status. */
export interface Rejection {
  readonly event: EventTag;
  /** Internal marks a bug in decide (an illegal phase move, a throw caught at the top): tests assert there are none. */
  readonly code: "AlreadyExists" | "NotFound" | "InvalidArgument" | "FailedPrecondition" | "Internal";
  readonly message: string;
  /** The lease name or id, server id, pool name... the rejection is about. */
  readonly subject?: string;
}

/** A phase change made by this event, for watchers and the store (`from` absent for a new lease). */
export interface PhaseChange {
  readonly leaseId: string;
  readonly from?: LeasePhase;
  readonly to: LeasePhase;
}

export interface DecideResult {
  readonly snapshot: Snapshot;
  readonly intents: readonly Intent[];
  readonly rejections: readonly Rejection[];
  readonly changes: readonly PhaseChange[];
}
