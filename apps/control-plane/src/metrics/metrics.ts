import { Context, Layer } from "effect";
import { LEASE_PHASES, type Snapshot } from "@berth/core";
import type { Commit } from "../engine/engine.js";
import { ComputedGauge, Counter, Histogram, renderAll, type Metric } from "./registry.js";

const SERVER_STATES = ["Starting", "Ready", "Down"] as const;

export interface MetricsShape {
  /** Lease API calls by operation (create, renew, release...) and result (ok or the gRPC code name). */
  readonly leaseOperations: Counter;
  readonly evictions: Counter;
  /** Servers asked for (a new server is a cold start for the lease that needed it). */
  readonly coldStarts: Counter;
  readonly reconcileErrors: Counter;
  /** Time decide took to place a lease request. */
  readonly placementSeconds: Histogram;
  /** Time from a lease's request to Ready. */
  readonly leaseReadySeconds: Histogram;
  /** Record what a commit says (placement latency, time to ready). */
  readonly observeCommit: (commit: Commit) => void;
  /** The text exposition, with the state gauges read off `snapshot`. */
  readonly render: (snapshot: Snapshot) => string;
}

const gauges = (current: () => Snapshot): Metric[] => [
  new ComputedGauge("berth_leases", "Leases by phase.", function* () {
    const counts = new Map<string, number>(LEASE_PHASES.map((p) => [p, 0]));
    for (const l of Object.values(current().leases)) counts.set(l.phase, (counts.get(l.phase) ?? 0) + 1);
    for (const [phase, n] of counts) yield [{ phase }, n] as const;
  }),
  new ComputedGauge("berth_servers", "Servers by state.", function* () {
    const counts = new Map<string, number>(SERVER_STATES.map((s) => [s, 0]));
    for (const s of Object.values(current().servers)) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
    for (const [state, n] of counts) yield [{ state }, n] as const;
  }),
  new ComputedGauge("berth_server_gpu_memory_capacity_bytes", "GPU memory each server replica offers to leases.", function* () {
    for (const s of Object.values(current().servers)) yield [{ server: s.id, pool: s.pool ?? "" }, s.capacity] as const;
  }),
  new ComputedGauge("berth_server_gpu_memory_committed_bytes", "GPU memory the leases bound to a server take per replica (measured where known, else declared).", function* () {
    const snapshot = current();
    for (const s of Object.values(snapshot.servers)) yield [{ server: s.id, pool: s.pool ?? "" }, s.leases.reduce((sum, id) => sum + (snapshot.leases[id]?.memory ?? 0), 0)] as const;
  }),
  new ComputedGauge("berth_server_gpu_memory_measured_bytes", "GPU memory measured after load for the leases bound to a server, per replica.", function* () {
    const snapshot = current();
    for (const s of Object.values(snapshot.servers))
      yield [{ server: s.id, pool: s.pool ?? "" }, s.leases.reduce((sum, id) => sum + (snapshot.leases[id]?.measuredMemory ?? 0), 0)] as const;
  }),
  new ComputedGauge("berth_node_gpu_memory_bytes", "GPU memory of each node's GPUs.", function* () {
    for (const n of Object.values(current().nodes)) for (const g of n.node.gpus) yield [{ node: n.node.name, gpu: g.index, model: g.model }, g.memory] as const;
  }),
  new ComputedGauge("berth_node_gpu_memory_committed_bytes", "GPU memory committed on each node's GPUs.", function* () {
    for (const n of Object.values(current().nodes)) for (const [i, g] of n.use.gpus.entries()) yield [{ node: n.node.name, gpu: i }, g.memory] as const;
  }),
];

export const makeMetrics = (): MetricsShape => {
  const leaseOperations = new Counter("berth_lease_operations_total", "Lease API calls by operation and result.");
  const evictions = new Counter("berth_evictions_total", "Leases evicted to make room.");
  const coldStarts = new Counter("berth_cold_starts_total", "Servers started for leases (cold starts).");
  const reconcileErrors = new Counter("berth_reconcile_errors_total", "Backend calls that failed after their retries, by operation.");
  const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
  const placementSeconds = new Histogram("berth_placement_duration_seconds", "Time decide took to place a lease request.", buckets);
  const leaseReadySeconds = new Histogram("berth_lease_ready_seconds", "Time from a lease's request to Ready.", [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]);
  let latest: Snapshot | undefined;
  const stateGauges = gauges(() => latest!);
  return {
    leaseOperations,
    evictions,
    coldStarts,
    reconcileErrors,
    placementSeconds,
    leaseReadySeconds,
    observeCommit: (commit) => {
      if (commit.event._tag === "LeaseRequested") placementSeconds.observe(commit.decideMs / 1000);
      for (const change of commit.result.changes) {
        if (change.to !== "Ready" || change.from === "Expiring") continue;
        const lease = commit.result.snapshot.leases[change.leaseId];
        if (lease !== undefined) leaseReadySeconds.observe(Math.max(0, commit.result.snapshot.now - lease.createdAt) / 1000);
      }
    },
    render: (snapshot) => {
      latest = snapshot;
      return renderAll([...stateGauges, leaseOperations, evictions, coldStarts, reconcileErrors, placementSeconds, leaseReadySeconds]);
    },
  };
};

export class Metrics extends Context.Tag("@berth/control-plane/Metrics")<Metrics, MetricsShape>() {
  static readonly layer: Layer.Layer<Metrics> = Layer.sync(Metrics, makeMetrics);
}
