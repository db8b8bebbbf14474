import type { DecisionRecord } from "@berth/core/decide/types";
import { GiB } from "@berth/core/units";
import { describeEvent, describeIntent, type Percentiles, type Sample, type TraceEntry } from "./result.js";
import { Ring } from "./ring.js";
import type { Step } from "./control-loop.js";
import type { World } from "./world.js";

export const percentiles = (values: readonly number[]): Percentiles => {
  if (values.length === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  // nearest-rank percentile
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return { count: sorted.length, mean: sorted.reduce((s, v) => s + v, 0) / sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] };
};

const bump = (counts: Record<string, number>, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

/**
 * Watches every decided event: lease outcomes, time to Ready, decisions and rejections, a
 * bounded trace; and samples the cluster on a fixed period.
 */
export class MetricsCollector {
  readonly timeToReady: number[] = [];
  readonly everReady = new Set<string>();
  readonly failuresByCode: Record<string, number> = {};
  released = 0;
  failed = 0;
  readonly decisionsByKindOutcome: Record<string, number> = {};
  decisions = 0;
  evictions = 0;
  readonly rejections: Record<string, number> = {};
  readonly trace: Ring<TraceEntry>;
  readonly lastDecisions: Ring<DecisionRecord>;
  readonly samples: Sample[] = [];
  private seq = 0;
  private gpuMemoryByteMs = 0;
  private lastAccrual = 0;

  constructor(traceLimit: number) {
    this.trace = new Ring(traceLimit);
    this.lastDecisions = new Ring(Math.min(traceLimit, 200));
  }

  readonly observe = (s: Step, world: World): void => {
    this.accrue(world);
    const { event, result } = s;
    for (const c of result.changes) {
      if (c.to === "Ready" && !this.everReady.has(c.leaseId)) {
        this.everReady.add(c.leaseId);
        const asked = world.requestedAt.get(c.leaseId);
        if (asked !== undefined) this.timeToReady.push(event.at - asked);
      }
      if (c.to === "Released") this.released++;
      if (c.to === "Failed") {
        this.failed++;
        const failure = result.snapshot.leases[c.leaseId]?.failure;
        bump(this.failuresByCode, failure?.code ?? "Unknown");
      }
    }
    for (const i of result.intents) {
      if (i._tag !== "RecordDecision") continue;
      this.decisions++;
      bump(this.decisionsByKindOutcome, `${i.decision.kind}:${i.decision.outcome}`);
      // victims come with the placement that needed the room, or with an eviction decision
      this.evictions += i.decision.victims?.length ?? 0;
      this.lastDecisions.push(i.decision);
    }
    for (const r of result.rejections) bump(this.rejections, `${r.event}:${r.code}`);
    this.trace.push({
      seq: this.seq++,
      at: event.at,
      event: describeEvent(event),
      intents: result.intents.map(describeIntent),
      rejections: result.rejections.map((r) => `${r.code}: ${r.message}`),
      changes: result.changes.map((c) => `${c.leaseId} ${c.from ?? "-"} -> ${c.to}`),
    });
  };

  /** Integrates physically committed GPU memory over time (GiB-hours). */
  private accrue(world: World): void {
    const now = world.sim.now;
    if (now > this.lastAccrual) {
      this.gpuMemoryByteMs += world.physical.gpuAllocated().memory * (now - this.lastAccrual);
      this.lastAccrual = now;
    }
  }

  gpuMemoryGiBHours(world: World): number {
    this.accrue(world);
    return this.gpuMemoryByteMs / GiB / 3_600_000;
  }

  /** One sample of the cluster now. */
  sample(world: World): void {
    this.accrue(world);
    let milliCap = 0, memCap = 0, nodesReady = 0;
    for (const n of world.physical.nodes.values()) {
      if (n.state !== "Ready") continue;
      nodesReady++;
      for (const g of n.gpus) { milliCap += 1000; memCap += g.memory; }
    }
    const alloc = world.physical.gpuAllocated();
    const snap = world.loop.snapshot;
    let planned = 0;
    for (const r of Object.values(snap.nodes)) {
      if (r.node.state !== "Ready") continue; // same base as the physical figures: Ready nodes
      for (const g of r.use.gpus) planned += g.memory;
    }
    let ready = 0, waiting = 0;
    for (const l of Object.values(snap.leases)) {
      if (l.phase === "Ready") ready++;
      else if (l.phase === "Pending" || l.phase === "Placing" || l.phase === "Loading") waiting++;
    }
    let replicas = 0;
    for (const sv of Object.values(snap.servers)) replicas += sv.replicas.length;
    this.samples.push({
      t: world.sim.now / 1000,
      gpuAllocation: milliCap === 0 ? 0 : alloc.milli / milliCap,
      gpuMemoryAllocation: memCap === 0 ? 0 : alloc.memory / memCap,
      plannedGpuMemory: memCap === 0 ? 0 : planned / memCap,
      leasesReady: ready,
      leasesWaiting: waiting,
      servers: Object.keys(snap.servers).length,
      replicas,
      nodesReady,
    });
  }
}
