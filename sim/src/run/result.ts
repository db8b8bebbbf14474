import type { DecisionRecord, Event, Intent } from "@berth/core/decide/types";
import type { PolicySpec } from "../scenario/schema.js";
import type { BackendCounters } from "../backend/simulated-backend.js";

/** One decided event in the bounded trace: what came in, what decide asked for, what it refused. */
export interface TraceEntry {
  readonly seq: number;
  readonly at: number;
  readonly event: string;
  readonly intents: readonly string[];
  readonly rejections: readonly string[];
  readonly changes: readonly string[];
}

export interface Percentiles {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** One sample of the cluster over time (time in seconds of simulated time). */
export interface Sample {
  readonly t: number;
  /** Milli-GPU committed by running replicas / total milli-GPU of Ready nodes' GPUs. */
  readonly gpuAllocation: number;
  /** GPU memory committed / total GPU memory (physical view). */
  readonly gpuMemoryAllocation: number;
  /** GPU memory decide believes is committed / total (snapshot view). */
  readonly plannedGpuMemory: number;
  readonly leasesReady: number;
  readonly leasesWaiting: number;
  readonly servers: number;
  readonly replicas: number;
  readonly nodesReady: number;
}

export interface RunResult {
  readonly scenario: string;
  readonly description: string;
  readonly seed: number;
  readonly policies: PolicySpec;
  /** Simulated time covered, ms. */
  readonly duration: number;
  readonly wallMs: number;
  readonly events: number;
  readonly decideCalls: number;
  readonly eventsPerSecond: number;
  readonly leases: {
    readonly requested: number;
    /** Leases that reached Ready at least once. */
    readonly ready: number;
    readonly failed: number;
    readonly released: number;
    /** Still Pending/Placing/Loading when the run ended. */
    readonly waitingAtEnd: number;
    readonly failuresByCode: Readonly<Record<string, number>>;
    readonly phasesAtEnd: Readonly<Record<string, number>>;
  };
  /** From LeaseRequested to first Ready, ms. */
  readonly timeToReady: Percentiles;
  /** Requests that arrived while their lease was not Ready (they would have waited for a load). */
  readonly requests: { readonly total: number; readonly served: number; readonly waited: number };
  readonly decisions: { readonly total: number; readonly byKindOutcome: Readonly<Record<string, number>>; readonly evictions: number };
  readonly rejections: Readonly<Record<string, number>>;
  readonly backend: BackendCounters;
  readonly samples: readonly Sample[];
  /** GPU-memory-hours held by servers (physical), in GiB-hours. */
  readonly gpuMemoryGiBHours: number;
  /** Last decided events (bounded), oldest first. */
  readonly trace: readonly TraceEntry[];
  readonly traceDropped: number;
  /** Last explained decisions from decide's log (bounded). */
  readonly lastDecisions: readonly DecisionRecord[];
}

/** A short, human-readable line for an event (the trace keeps strings, not objects, to stay small). */
export const describeEvent = (e: Event): string => {
  switch (e._tag) {
    case "LeaseRequested": return `LeaseRequested ${e.spec.name} (${e.id})`;
    case "LeaseRenewed": return `LeaseRenewed ${e.name}`;
    case "LeaseReleased": return `LeaseReleased ${e.name}${e.by ? ` by ${e.by}` : ""}`;
    case "ServerObserved": return `ServerObserved ${e.serverId} ${e.state} ready=${e.readyReplicas}`;
    case "NodeObserved": return `NodeObserved ${e.node.name} ${e.node.state}`;
    case "ModelsLoaded": return `ModelsLoaded ${e.leaseId} on ${e.serverId} (${Math.round(e.loadTime ?? 0)} ms)`;
    case "ModelsFailed": return `ModelsFailed ${e.leaseId} on ${e.serverId}: ${e.error}`;
    case "Activity": return `Activity ${e.lease ?? e.model ?? "?"} x${e.requests}`;
    case "MetricObserved": return `MetricObserved ${e.leaseId} ${e.sample.value.toFixed(2)} over ${e.sample.readyReplicas}`;
    case "PoolDefined": return `PoolDefined ${e.spec.name}`;
    case "PoolDeleted": return `PoolDeleted ${e.name}`;
    case "ModelsCatalogued": return `ModelsCatalogued ${e.models.length} models`;
    case "Tick": return "Tick";
  }
};

export const describeIntent = (i: Intent): string => {
  switch (i._tag) {
    case "EnsureServer": return `EnsureServer ${i.serverId} on ${i.placements.map((p) => `${p.node}[${p.gpus.map((g) => g.index).join(",")}]`).join(" ") || i.node} x${i.replicas}`;
    case "DeleteServer": return `DeleteServer ${i.serverId}`;
    case "ScaleServer": return `ScaleServer ${i.serverId} -> ${i.replicas}`;
    case "AssignLease": return `AssignLease ${i.leaseId} -> ${i.serverId}`;
    case "UnassignLease": return `UnassignLease ${i.leaseId} from ${i.serverId}`;
    case "MarkFailed": return `MarkFailed ${i.leaseId}: ${i.reason.code} ${i.reason.message}`;
    case "RecordDecision": return `Decision ${i.decision.kind} ${i.decision.leaseName}: ${i.decision.outcome}${i.decision.node ? ` on ${i.decision.node}` : ""}`;
  }
};
