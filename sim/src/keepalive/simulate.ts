// One run of the keep-alive experiment: the trace's requests against a GPU-memory budget,
// under one policy, on the engine's single clock and queue.
//
// Model of the system (deliberately small, so the policies are what differs):
// - each base model is one lease's model set, `sizes[m]` bytes while loading or warm;
// - the budget is pooled memory (no per-GPU packing: every model fits one 80 GiB GPU);
// - a warm model serves any number of requests at once, each for its `exec` time;
// - a request to a model that is not warm is a cold start: it waits for a load (drawn from
//   the measured latencies) and, when memory is short and nothing can be evicted, for memory;
// - models with requests in flight or loading are never evicted; the others are candidates,
//   protected for `minimumDuration` after their load;
// - time-to-first-inference (TTFI) is arrival -> start of inference;
// - GPU-memory-hours integrate the bytes loaded or warm from the first arrival to the last
//   completion.
import { GiB, type Bytes, type DurationMs } from "@berth/core/units";
import type { EvictionCandidate } from "@berth/core/eviction/types";
import type { KeepAliveMode } from "@berth/core/eviction/keepalive";
import { addIdleTime, emptyIdleHistogram, type IdleHistogram } from "@berth/core/eviction/idle-histogram";
import { defaultHybridOptions } from "@berth/core/eviction/keepalive-hybrid";
import { Priority, Simulation } from "../engine/index.js";
import type { GenaiTrace } from "./trace.js";
import type { SimPolicy } from "./policies.js";

export interface KeepaliveRunConfig {
  readonly policy: SimPolicy;
  readonly budget: Bytes;
  readonly sizes: readonly Bytes[];
  readonly drawLoadTime: () => DurationMs;
  /** The load time a policy assumes for a model never loaded yet. */
  readonly defaultLoadTime: DurationMs;
  readonly minimumDuration?: DurationMs;
  /** Recent gaps handed to eviction (reuse likelihood). */
  readonly evictionGapHistory?: number;
}

export interface KeepaliveRunResult {
  readonly policy: string;
  readonly budgetGiB: number;
  readonly requests: number;
  /** Requests that found their model not warm and waited for a load. */
  readonly coldStarts: number;
  readonly loads: number;
  readonly prewarmLoads: number;
  /** Models unloaded to make room. */
  readonly evictions: number;
  /** Models unloaded because their keep-alive window ended. */
  readonly expiries: number;
  /** Requests that also waited for memory (nothing could be evicted). */
  readonly memoryWaits: number;
  /**
   * Cold starts that memory pressure caused: the model's keep-alive plan had it warm at the
   * request, but an eviction or a pre-warm without room had pushed it out.
   */
  readonly displacedColdStarts: number;
  readonly ttfiP50Ms: number;
  readonly ttfiP99Ms: number;
  readonly ttfiMeanMs: number;
  readonly memoryGiBHours: number;
  readonly peakMemoryGiB: number;
  readonly hours: number;
  /** How often each keep-alive rule decided. */
  readonly modes: Partial<Record<KeepAliveMode, number>>;
}

type Status = "cold" | "loading" | "warm";

interface Waiter {
  readonly at: number;
  readonly exec: DurationMs;
}

interface ModelState {
  readonly id: string;
  readonly size: Bytes;
  status: Status;
  queued: boolean;
  inFlight: number;
  waiters: Waiter[];
  lastEnd: number;
  loadedAt: number;
  expiresAt: number;
  /** The current plan has the model warm up to this time after its last use... */
  planWarmUntil: number;
  /** ...and again from this time (a pre-warm) until `expiresAt`. */
  planPrewarmFrom: number;
  /** Unloaded or kept cold against its plan, by an eviction or a pre-warm that found no room. */
  pushedOut: boolean;
  /** Bumped to cancel pending expiry / pre-warm timers. */
  epoch: number;
  gaps: number[];
  /** When each of `gaps` began. */
  gapStarts: number[];
  sortedGaps: number[];
  histogram: IdleHistogram;
  loadSum: number;
  loadCount: number;
}

export const quantile = (sorted: ArrayLike<number>, q: number): number => {
  const n = sorted.length;
  if (n === 0) return NaN;
  // Nearest rank: the smallest value with at least q of the sample at or below it.
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
};

const insertSorted = (xs: number[], x: number) => {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  xs.splice(lo, 0, x);
};

export const simulateKeepalive = (trace: GenaiTrace, config: KeepaliveRunConfig): KeepaliveRunResult => {
  const { policy, budget, sizes } = config;
  const minimumDuration = config.minimumDuration ?? 0;
  const gapHistory = config.evictionGapHistory ?? 64;
  if (sizes.length !== trace.models.length) throw new RangeError(`${sizes.length} sizes for ${trace.models.length} models`);
  const largest = Math.max(0, ...sizes);
  if (largest > budget) throw new RangeError(`budget ${(budget / GiB).toFixed(1)} GiB is smaller than the largest model (${(largest / GiB).toFixed(1)} GiB)`);

  const models: ModelState[] = trace.models.map((id, m) => ({
    id, size: sizes[m], status: "cold", queued: false, inFlight: 0, waiters: [], lastEnd: NaN, loadedAt: NaN,
    expiresAt: -Infinity, planWarmUntil: -Infinity, planPrewarmFrom: Infinity, pushedOut: false, epoch: 0, gaps: [], gapStarts: [], sortedGaps: [], histogram: emptyIdleHistogram(defaultHybridOptions.range, defaultHybridOptions.binWidth),
    loadSum: 0, loadCount: 0,
  }));
  const start = trace.requests.length > 0 ? trace.requests[0].at : 0;
  const sim = new Simulation(start);
  const ttfi = new Float64Array(trace.requests.length);
  let served = 0;
  let coldStarts = 0, loads = 0, prewarmLoads = 0, evictions = 0, expiries = 0, memoryWaits = 0, displacedColdStarts = 0;
  // Evictions of models their keep-alive still held: what the budget took (KeepAliveInput.pressure).
  let pressureEvictions = 0;
  let used = 0, peak = 0, lastCompletion = start;
  const memTimes: number[] = [start];
  const memUsed: number[] = [0];
  const modes: Partial<Record<KeepAliveMode, number>> = {};
  const memoryQueue: ModelState[] = [];

  const setUsed = (delta: number) => {
    used += delta;
    peak = Math.max(peak, used);
    memTimes.push(sim.now);
    memUsed.push(used);
  };
  const expectedLoad = (s: ModelState) => (s.loadCount > 0 ? s.loadSum / s.loadCount : config.defaultLoadTime);

  const unload = (s: ModelState) => {
    s.status = "cold";
    s.epoch++;
    setUsed(-s.size);
  };

  const begin = (s: ModelState, w: Waiter) => {
    ttfi[served++] = sim.now - w.at;
    s.inFlight++;
    sim.after(w.exec, () => complete(s), Priority.urgent);
  };

  const startLoad = (s: ModelState, prewarm: boolean) => {
    if (s.queued) memoryWaits += s.waiters.length;
    s.queued = false;
    s.pushedOut = false;
    s.status = "loading";
    loads++;
    if (prewarm) prewarmLoads++;
    setUsed(s.size);
    const duration = config.drawLoadTime();
    s.loadSum += duration;
    s.loadCount++;
    sim.after(duration, () => loaded(s), Priority.urgent);
  };

  const candidates = (except: ModelState): EvictionCandidate[] => {
    const out: EvictionCandidate[] = [];
    for (const s of models) {
      if (s === except || s.status !== "warm" || s.inFlight > 0) continue;
      out.push({
        leaseId: s.id, serverId: "pool", frees: s.size, createdAt: s.loadedAt, heldUntil: s.loadedAt + minimumDuration,
        expiresAt: s.expiresAt, lastActivityAt: Number.isNaN(s.lastEnd) ? s.loadedAt : s.lastEnd, loadTime: expectedLoad(s), size: s.size,
        recentGaps: s.gaps.length > gapHistory ? s.gaps.slice(-gapHistory) : s.gaps,
      });
    }
    return out;
  };

  /** Room for `s`, evicting if the policy finds victims; false when it must wait. */
  const makeRoom = (s: ModelState): boolean => {
    const free = budget - used;
    if (free >= s.size) return true;
    const decision = policy.eviction.choose(candidates(s), s.size - free, sim.now);
    if (!decision.satisfied) return false;
    const byId = new Map(models.map((x) => [x.id, x] as const));
    for (const id of decision.victims) {
      evictions++;
      const victim = byId.get(id)!;
      victim.pushedOut = true;
      if (sim.now < victim.expiresAt) pressureEvictions++;
      unload(victim);
    }
    return budget - used >= s.size;
  };

  const drainQueue = () => {
    while (memoryQueue.length > 0) {
      const head = memoryQueue[0];
      if (!makeRoom(head)) return;
      memoryQueue.shift();
      startLoad(head, false);
    }
  };

  const requestLoad = (s: ModelState) => {
    if (memoryQueue.length === 0 && makeRoom(s)) {
      startLoad(s, false);
      return;
    }
    s.queued = true;
    memoryQueue.push(s);
    drainQueue();
  };

  const scheduleExpiry = (s: ModelState, at: number) => {
    s.expiresAt = at;
    if (!policy.unloadAtExpiry || !Number.isFinite(at)) return;
    const epoch = s.epoch;
    sim.at(Math.max(sim.now, at), () => {
      if (s.epoch !== epoch || s.status !== "warm" || s.inFlight > 0) return;
      expiries++;
      unload(s);
      drainQueue();
    }, Priority.late);
  };

  const schedulePrewarm = (s: ModelState, at: number) => {
    const epoch = s.epoch;
    sim.at(at, () => {
      if (s.epoch !== epoch || s.status !== "cold" || s.queued) return;
      // A pre-warm only uses free memory; it never evicts another model.
      if (memoryQueue.length > 0 || budget - used < s.size) {
        s.pushedOut = true;
        return;
      }
      startLoad(s, true);
    }, Priority.late);
  };

  const idle = (s: ModelState) => {
    const w = policy.keepAlive.windows({
      idleGaps: s.gaps, sortedGaps: s.sortedGaps, histogram: s.histogram, loadTime: expectedLoad(s), size: s.size,
      idleStarts: s.gapStarts, idleSince: s.lastEnd, pressure: { budget, evictions: pressureEvictions },
    });
    modes[w.mode] = (modes[w.mode] ?? 0) + 1;
    const end = s.lastEnd + w.keepAlive;
    const warmFor = w.warmFor ?? 0;
    const prewarmPlan = w.prewarm > warmFor && w.prewarm < w.keepAlive;
    s.planWarmUntil = s.lastEnd + (prewarmPlan ? warmFor : w.keepAlive);
    s.planPrewarmFrom = prewarmPlan ? s.lastEnd + w.prewarm : Infinity;
    if (policy.unloadAtExpiry && w.prewarm > warmFor && w.prewarm < w.keepAlive) {
      if (warmFor > 0) {
        // Warm a while longer, then unload and pre-warm (Berth's plans); an eviction in
        // between cancels the pre-warm with the rest of the plan.
        s.expiresAt = end;
        const epoch = s.epoch;
        sim.at(s.lastEnd + warmFor, () => {
          if (s.epoch !== epoch || s.status !== "warm" || s.inFlight > 0) return;
          expiries++;
          unload(s);
          schedulePrewarm(s, s.lastEnd + w.prewarm);
          drainQueue();
        }, Priority.late);
        return;
      }
      // Pre-warming: unload now, load again before the predicted next request.
      unload(s);
      s.expiresAt = end;
      schedulePrewarm(s, s.lastEnd + w.prewarm);
      drainQueue();
      return;
    }
    scheduleExpiry(s, end);
  };

  const loaded = (s: ModelState) => {
    s.status = "warm";
    s.loadedAt = sim.now;
    const waiting = s.waiters;
    s.waiters = [];
    for (const w of waiting) begin(s, w);
    if (waiting.length === 0) scheduleExpiry(s, s.expiresAt); // a pre-warm: keep until the window it was loaded for
    // The model may now be evictable for a queued load (at once, or when its protection ends).
    if (minimumDuration > 0) sim.after(minimumDuration, drainQueue, Priority.late);
    drainQueue();
  };

  const complete = (s: ModelState) => {
    s.inFlight--;
    s.lastEnd = sim.now;
    lastCompletion = Math.max(lastCompletion, sim.now);
    if (s.inFlight === 0) idle(s);
    drainQueue();
  };

  const arrive = (m: number, w: Waiter) => {
    const s = models[m];
    if (s.inFlight === 0 && s.waiters.length === 0 && !Number.isNaN(s.lastEnd)) {
      const gap = Math.max(0, w.at - s.lastEnd);
      s.gaps.push(gap);
      s.gapStarts.push(s.lastEnd);
      insertSorted(s.sortedGaps, gap);
      s.histogram = addIdleTime(s.histogram, gap);
    }
    s.epoch++;
    if (s.status === "warm") {
      begin(s, w);
      return;
    }
    coldStarts++;
    if (s.pushedOut && (w.at <= s.planWarmUntil || (w.at >= s.planPrewarmFrom && w.at <= s.expiresAt))) displacedColdStarts++;
    s.waiters.push(w);
    if (s.status === "cold" && !s.queued) requestLoad(s);
  };

  for (const r of trace.requests) sim.at(r.at, () => arrive(r.model, { at: r.at, exec: r.exec }), Priority.normal);
  sim.run();

  if (served !== trace.requests.length) throw new Error(`${trace.requests.length - served} requests never started`);
  // GPU-memory-hours from the first arrival to the last completion.
  let area = 0;
  for (let i = 0; i < memTimes.length; i++) {
    const from = Math.min(memTimes[i], lastCompletion);
    const to = Math.min(i + 1 < memTimes.length ? memTimes[i + 1] : lastCompletion, lastCompletion);
    if (to > from) area += memUsed[i] * (to - from);
  }
  const sorted = Float64Array.from(ttfi).sort();
  return {
    policy: policy.name,
    budgetGiB: budget / GiB,
    requests: trace.requests.length,
    coldStarts, loads, prewarmLoads, evictions, expiries, memoryWaits, displacedColdStarts,
    ttfiP50Ms: quantile(sorted, 0.5),
    ttfiP99Ms: quantile(sorted, 0.99),
    ttfiMeanMs: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    memoryGiBHours: area / GiB / 3_600_000,
    peakMemoryGiB: peak / GiB,
    hours: (lastCompletion - start) / 3_600_000,
    modes,
  };
};
