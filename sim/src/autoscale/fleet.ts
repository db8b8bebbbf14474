import { emptyAutoscalerMemory, type AutoscalerMemory, type AutoscalerPolicy, type MetricSample } from "@berth/core/autoscaler/types";
import type { ReplicaLoad, ReplicaPicker } from "@berth/core/picker/types";
import { rngFromSeed } from "@berth/core/random/rng";
import type { AutoscalingSpec } from "@berth/core/spec/types";
import { Priority, Simulation } from "../engine/index.js";

// One autoscaled lease on the discrete-event engine: requests arrive from a trace, a router
// sends each to a ready replica with the picker, a replica serves `slots` requests at once in
// FIFO order and accepts at most `maxOutstandingPerReplica` (the router holds the rest, in
// arrival order, until some replica has room: so replicas that become ready take over the
// backlog instead of it staying stuck behind long requests), and every `periodMs` the autoscaler sees the last period's observations and
// sets the replica count. New replicas serve after `startupMs` (and cost from the moment they
// are ordered); removed replicas stop taking requests and leave once idle (starting ones are
// cancelled first). Queue time is from arrival to the start of service.

export interface FleetRequest {
  readonly atMs: number;
  readonly serviceMs: number;
}

export interface FleetConfig {
  readonly requests: readonly FleetRequest[];
  readonly policy: AutoscalerPolicy;
  readonly spec: AutoscalingSpec;
  readonly picker: ReplicaPicker;
  readonly seed: number;
  readonly startupMs: number;
  readonly slotsPerReplica: number;
  /** The autoscaler's sync period (Kubernetes' HPA: 15 s). */
  readonly periodMs: number;
  /** Queue time above this is an SLO violation. */
  readonly sloMs: number;
  /** Requests a replica accepts (in service + queued) before the router holds them; default 2 x slots. */
  readonly maxOutstandingPerReplica?: number;
  /** Ready replicas at time 0 (default: minReplicas). */
  readonly initialReplicas?: number;
}

export interface FleetTick {
  readonly atMs: number;
  /** Replicas ordered and not removed: starting + ready. */
  readonly replicas: number;
  readonly ready: number;
  readonly desired: number;
  /** Mean and max queue time (ms) of the requests that started service in the period. */
  readonly meanQueueMs: number;
  readonly maxQueueMs: number;
  readonly arrivals: number;
}

export interface FleetResult {
  readonly requests: number;
  readonly violations: number;
  readonly replicaSeconds: number;
  readonly queueMs: Float64Array;
  readonly endMs: number;
  readonly ticks: readonly FleetTick[];
  readonly scaleUps: number;
  readonly scaleDowns: number;
}

type ReplicaState = "starting" | "ready" | "draining" | "gone";

interface Replica {
  readonly id: number;
  state: ReplicaState;
  readonly orderedAt: number;
  leftAt: number;
  busy: number;
  readonly queue: number[];
}

export const simulateFleet = (c: FleetConfig): FleetResult => {
  const n = c.requests.length;
  const sim = new Simulation(0);
  const rng = rngFromSeed(c.seed);
  const queueMs = new Float64Array(n).fill(Number.NaN);
  const replicas: Replica[] = [];
  const routerQueue: number[] = [];
  const ticks: FleetTick[] = [];
  let memory: AutoscalerMemory = emptyAutoscalerMemory;
  let cursor = 0;
  let completed = 0;
  let scaleUps = 0;
  let scaleDowns = 0;
  let endMs = 0;
  // Observations of the current period.
  let periodArrivals = 0;
  let periodStarted = 0;
  let periodQueueSum = 0;
  let periodQueueMax = 0;
  let periodServed = 0;
  let periodServiceSum = 0;

  const order = (at: number, ready: boolean): Replica => {
    const r: Replica = { id: replicas.length, state: ready ? "ready" : "starting", orderedAt: at, leftAt: Number.NaN, busy: 0, queue: [] };
    replicas.push(r);
    return r;
  };
  const leave = (r: Replica, at: number): void => {
    r.state = "gone";
    r.leftAt = at;
  };
  const cap = Math.max(c.slotsPerReplica, c.maxOutstandingPerReplica ?? 2 * c.slotsPerReplica);
  const outstanding = (r: Replica): number => r.busy + r.queue.length;
  const routable = (): Replica[] => replicas.filter((r) => r.state === "ready");
  const withRoom = (): Replica[] => replicas.filter((r) => r.state === "ready" && outstanding(r) < cap);

  const startService = (r: Replica, i: number): void => {
    const waited = sim.now - c.requests[i].atMs;
    queueMs[i] = waited;
    periodStarted++;
    periodQueueSum += waited;
    if (waited > periodQueueMax) periodQueueMax = waited;
    r.busy++;
    sim.after(c.requests[i].serviceMs, () => complete(r, i), Priority.urgent);
  };
  const complete = (r: Replica, i: number): void => {
    r.busy--;
    completed++;
    periodServed++;
    periodServiceSum += c.requests[i].serviceMs;
    endMs = Math.max(endMs, sim.now);
    const next = r.queue.shift();
    if (next !== undefined) startService(r, next);
    else if (r.state === "draining" && r.busy === 0) leave(r, sim.now);
    drainRouter();
  };
  /** Sends request `i` to a replica with room; false when none has room. */
  const send = (i: number): boolean => {
    const candidates = withRoom();
    if (candidates.length === 0) return false;
    const loads: ReplicaLoad[] = candidates.map((r) => ({ id: String(r.id), outstanding: outstanding(r) }));
    const picked = c.picker.pick(loads, rng, cursor);
    cursor = picked.cursor;
    const r = candidates[picked.index];
    if (r.busy < c.slotsPerReplica) startService(r, i);
    else r.queue.push(i);
    return true;
  };
  const drainRouter = (): void => {
    while (routerQueue.length > 0 && send(routerQueue[0])) routerQueue.shift();
  };
  const dispatch = (i: number): void => {
    // Arrival order: nothing overtakes requests the router already holds.
    if (routerQueue.length > 0 || !send(i)) routerQueue.push(i);
  };
  const becomeReady = (r: Replica): void => {
    if (r.state !== "starting") return;
    r.state = "ready";
    drainRouter();
  };

  const active = (): Replica[] => replicas.filter((r) => r.state === "starting" || r.state === "ready");

  const scaleTo = (desired: number): void => {
    const current = active();
    if (desired > current.length) {
      scaleUps++;
      for (let k = current.length; k < desired; k++) {
        const r = order(sim.now, false);
        sim.after(c.startupMs, () => becomeReady(r), Priority.urgent);
      }
    } else if (desired < current.length) {
      scaleDowns++;
      let excess = current.length - desired;
      // Cancel the newest starting replicas first: they serve nobody yet.
      const starting = current.filter((r) => r.state === "starting").sort((a, b) => b.orderedAt - a.orderedAt || b.id - a.id);
      for (const r of starting) {
        if (excess === 0) break;
        leave(r, sim.now);
        excess--;
      }
      // Then drain the least loaded ready replicas (their queues finish; they take no more).
      const ready = current.filter((r) => r.state === "ready").sort((a, b) => a.busy + a.queue.length - (b.busy + b.queue.length) || b.id - a.id);
      for (const r of ready) {
        if (excess === 0) break;
        if (r.busy === 0 && r.queue.length === 0) leave(r, sim.now);
        else r.state = "draining";
        excess--;
      }
    }
  };

  const tick = (): void => {
    const ready = routable().length;
    const queued = routerQueue.length + replicas.reduce((s, r) => s + (r.state === "gone" ? 0 : r.queue.length), 0);
    const sample: MetricSample = {
      value: periodStarted === 0 ? 0 : periodQueueSum / periodStarted,
      readyReplicas: ready,
      arrivalRate: periodArrivals / (c.periodMs / 1000),
      ...(periodServed > 0 ? { meanServiceMs: periodServiceSum / periodServed } : {}),
      queued,
      slotsPerReplica: c.slotsPerReplica,
    };
    const current = active().length;
    const result = c.policy.recommend({ now: sim.now, spec: c.spec, currentReplicas: current, sample }, memory);
    memory = result.memory;
    ticks.push({
      atMs: sim.now,
      replicas: current,
      ready,
      desired: result.desired,
      meanQueueMs: sample.value,
      maxQueueMs: periodQueueMax,
      arrivals: periodArrivals,
    });
    periodArrivals = periodStarted = periodQueueSum = periodQueueMax = periodServed = periodServiceSum = 0;
    scaleTo(result.desired);
    if (completed < n) sim.after(c.periodMs, tick, Priority.late);
  };

  const initial = Math.max(1, c.initialReplicas ?? c.spec.minReplicas);
  for (let k = 0; k < initial; k++) order(0, true);
  c.requests.forEach((req, i) =>
    sim.at(req.atMs, () => {
      periodArrivals++;
      dispatch(i);
    }),
  );
  sim.after(c.periodMs, tick, Priority.late);
  sim.run();

  const end = Math.max(endMs, c.requests.length > 0 ? c.requests[n - 1].atMs : 0);
  let replicaMs = 0;
  for (const r of replicas) replicaMs += (Number.isNaN(r.leftAt) ? end : Math.min(r.leftAt, end)) - Math.min(r.orderedAt, end);
  let violations = 0;
  for (let i = 0; i < n; i++) if (queueMs[i] > c.sloMs) violations++;
  return { requests: n, violations, replicaSeconds: replicaMs / 1000, queueMs, endMs: end, ticks, scaleUps, scaleDowns };
};
