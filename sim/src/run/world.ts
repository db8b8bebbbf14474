import type { ClusterNode } from "@berth/core/cluster/types";
import type { Event, Snapshot } from "@berth/core/decide/types";
import type { PoolSpec } from "@berth/core/spec/types";
import { Priority, Simulation } from "../engine/index.js";
import { SimCatalog } from "../backend/catalog.js";
import { randomStreams, type RandomStreams } from "../backend/random-streams.js";
import { SimulatedBackend } from "../backend/simulated-backend.js";
import { buildNodes } from "../cluster/nodes.js";
import { PhysicalCluster } from "../cluster/physical.js";
import type { Scenario } from "../scenario/schema.js";
import { compile, poisson, type MeasuredData } from "../workload/distribution.js";
import { syntheticPlans, type LeasePlan } from "../workload/plan.js";
import { tracePlans } from "../workload/traces.js";
import { ControlLoop, type DecideStep, type Step } from "./control-loop.js";

/** How a run gets decide: the step function and the snapshot it starts from. */
export interface Decider {
  readonly step: DecideStep;
  readonly initial: Snapshot;
}

/** Builds the decider for a scenario's policies and seed (the real one lives in core-decider.ts). */
export type DeciderFactory = (scenario: Scenario, decideSeed: number) => Decider;

export interface WorldOptions {
  readonly measured?: MeasuredData;
  readonly observers?: readonly ((s: Step, world: World) => void)[];
}

/** One lease the clients hold, as the run tracks it between arrivals and release. */
interface ClientLease {
  readonly plan: LeasePlan;
  /** Id of the current incarnation (trace workloads ask again after a lease is gone). */
  leaseId: string;
  incarnation: number;
  released: boolean;
  /** Requests counted since the last activity report. */
  pendingRequests: number;
}

/**
 * Everything one simulation run is made of: the clock, the cluster, the simulated backend,
 * the control loop around decide, the workload's clients, the timers and the failures. All
 * randomness comes from the scenario's seed.
 */
export class World {
  readonly sim = new Simulation(0);
  readonly streams: RandomStreams;
  readonly nodes: readonly ClusterNode[];
  readonly physical: PhysicalCluster;
  readonly catalog: SimCatalog;
  readonly backend: SimulatedBackend;
  readonly loop: ControlLoop;
  readonly plans: readonly LeasePlan[];
  readonly clients = new Map<string, ClientLease>();
  /** Lease id -> time it was asked for (every incarnation). */
  readonly requestedAt = new Map<string, number>();
  readonly requestCounts = { total: 0, served: 0, waited: 0 };

  constructor(readonly scenario: Scenario, decider: DeciderFactory, options: WorldOptions = {}) {
    const measured = options.measured ?? new Map();
    this.streams = randomStreams(scenario.seed);
    this.nodes = buildNodes(scenario.cluster);
    this.physical = new PhysicalCluster(this.nodes);
    this.catalog = new SimCatalog(scenario.models, measured);
    const d = decider(scenario, this.streams.decideSeed);
    const observers = (options.observers ?? []).map((o) => (s: Step) => o(s, this));
    this.loop = new ControlLoop(this.sim, d.initial, d.step, (i) => this.backend.execute(i), observers);
    this.backend = new SimulatedBackend({
      sim: this.sim,
      physical: this.physical,
      catalog: this.catalog,
      streams: this.streams,
      startup: compile(scenario.servers.startup, measured),
      failures: scenario.failures,
      emit: (e) => this.loop.submit(e),
    });
    const w = scenario.workload;
    this.plans = w.kind === "synthetic" ? syntheticPlans(scenario, w, this.catalog, measured, this.streams.workload) : tracePlans(scenario, w, this.catalog, measured);
    for (const p of this.plans) {
      this.clients.set(p.spec.name, {
        plan: p, leaseId: p.id, incarnation: 0, released: false, pendingRequests: 0,
      });
    }
    this.schedule();
  }

  private schedule(): void {
    const s = this.scenario;
    const at0 = (e: Event) => this.loop.submit(e, Priority.urgent);
    // The control plane's view of the world at start: nodes, pools, catalog.
    for (const node of this.nodes) at0({ _tag: "NodeObserved", at: 0, node });
    for (const p of s.pools) at0({ _tag: "PoolDefined", at: 0, spec: poolSpecOf(p, s) });
    at0({ _tag: "ModelsCatalogued", at: 0, models: this.catalog.all().map((m) => this.catalog.facts(m)) });

    for (const client of this.clients.values()) this.scheduleClient(client);
    this.scheduleFailures();
    // Timers: the control plane's tick, and the clients' activity reports with it.
    const tick = () => {
      this.flushActivity();
      this.loop.submit({ _tag: "Tick", at: this.sim.now }, Priority.late);
      if (this.sim.now + s.tick <= s.duration) this.sim.after(s.tick, tick, Priority.late);
    };
    this.sim.at(s.tick, tick, Priority.late);
  }

  private scheduleClient(client: ClientLease): void {
    const p = client.plan;
    this.sim.at(p.arriveAt, () => this.request(client));
    if (p.releaseAt !== undefined && p.releaseAt <= this.scenario.duration) {
      this.sim.at(p.releaseAt, () => {
        client.released = true;
        // a client whose lease failed or already ended knows it: nothing to let go of
        const phase = this.phaseOf(client);
        if (phase === undefined || phase === "Failed" || phase === "Released") return;
        this.loop.submit({ _tag: "LeaseReleased", at: this.sim.now, name: p.spec.name, by: p.holder });
      });
    }
    if (p.requests.kind === "times") {
      for (const t of p.requests.times) this.sim.at(t, () => this.arrive(client, 1));
    }
  }

  /** The client asks for its lease (again, for trace workloads whose lease went away). */
  private request(client: ClientLease): void {
    const p = client.plan;
    client.leaseId = client.incarnation === 0 ? p.id : `${p.id}-${client.incarnation}`;
    client.incarnation++;
    this.requestedAt.set(client.leaseId, this.sim.now);
    this.loop.submit({ _tag: "LeaseRequested", at: this.sim.now, id: client.leaseId, spec: p.spec, models: p.models, holder: p.holder });
  }

  /** Whether the client's current lease is live (not ended) in decide's snapshot. */
  private phaseOf(client: ClientLease): string | undefined {
    return this.loop.snapshot.leases[client.leaseId]?.phase;
  }

  private arrive(client: ClientLease, n: number): void {
    if (client.released) return;
    this.requestCounts.total += n;
    const phase = this.phaseOf(client);
    if (phase === "Ready") {
      this.requestCounts.served += n;
      client.pendingRequests += n;
      return;
    }
    this.requestCounts.waited += n;
    // asked for at this very instant: decide has not seen the request yet
    const justAsked = phase === undefined && this.requestedAt.get(client.leaseId) === this.sim.now;
    const gone = !justAsked && (phase === undefined || phase === "Released" || phase === "Failed" || phase === "Expiring");
    if (gone && client.plan.reacquire && this.loop.snapshot.names[client.plan.spec.name] === undefined && this.sim.now >= client.plan.arriveAt) {
      this.request(client);
    }
  }

  /** Each tick: Poisson requests of synthetic clients, activity reports, autoscaling metrics. */
  private flushActivity(): void {
    const tickSeconds = this.scenario.tick / 1000;
    for (const client of this.clients.values()) {
      const p = client.plan;
      if (client.released || this.sim.now < p.arriveAt) continue;
      if (p.requests.kind === "poisson" && p.requests.rate > 0 && this.phaseOf(client) === "Ready") {
        this.arrive(client, poisson(p.requests.rate * tickSeconds, this.streams.requests));
      }
      const n = client.pendingRequests;
      client.pendingRequests = 0;
      if (n > 0) this.loop.submit({ _tag: "Activity", at: this.sim.now, lease: p.spec.name, requests: n });
      if (p.spec.autoscaling) this.sampleMetric(client, n / tickSeconds);
    }
  }

  private sampleMetric(client: ClientLease, rps: number): void {
    const lease = this.loop.snapshot.leases[client.leaseId];
    const serverId = lease?.placement?.serverId;
    if (!lease || lease.phase !== "Ready" || serverId === undefined) return;
    const ready = this.backend.readyReplicas(serverId);
    if (ready === 0) return;
    const metric = client.plan.spec.autoscaling!.metric;
    const service = Math.max(client.plan.serviceMean, 1e-3);
    const perReplica = rps / ready;
    // Little's law for in-flight requests; M/M/1 per replica for queueing time.
    const rho = (perReplica * service) / 1000;
    const value = metric === "rps" ? perReplica : metric === "queue_time" ? (rho >= 1 ? 60_000 : (rho / (1 - rho)) * service) : rho;
    this.loop.submit({ _tag: "MetricObserved", at: this.sim.now, leaseId: client.leaseId, sample: { value, readyReplicas: ready } });
  }

  private scheduleFailures(): void {
    const f = this.scenario.failures;
    for (const loss of f.nodeLoss) {
      this.sim.at(loss.at, () => {
        const ready = this.nodes.filter((n) => this.physical.nodes.get(n.name)?.state === "Ready");
        const name = loss.node ?? (ready.length > 0 ? ready[this.streams.failures.int(ready.length)].name : undefined);
        if (name === undefined) return;
        const node = this.backend.loseNode(name, loss.recoverAfter === undefined);
        if (node) this.loop.submit({ _tag: "NodeObserved", at: this.sim.now, node }, Priority.urgent);
        if (loss.recoverAfter !== undefined) {
          this.sim.after(loss.recoverAfter, () => {
            const back = this.backend.recoverNode(name);
            if (back) this.loop.submit({ _tag: "NodeObserved", at: this.sim.now, node: back }, Priority.urgent);
          }, Priority.urgent);
        }
      }, Priority.urgent);
    }
  }

  /** Runs to the scenario's end (or `until`). */
  run(until: number = this.scenario.duration): void {
    this.sim.run(until);
  }
}

export const poolSpecOf = (p: Scenario["pools"][number], s: Scenario): PoolSpec => ({
  name: p.name,
  template: {
    image: s.servers.image,
    group: p.group,
    resources: { gpuMemory: p.resources.gpuMemory ?? 0, gpus: p.resources.gpus, gpuMilli: p.resources.gpuMilli, cpu: p.resources.cpu, memory: p.resources.memory, gpuModels: p.resources.gpuModels },
  },
  minInstances: p.minInstances,
  maxInstances: p.maxInstances,
  quotaPerInstance: p.quotaPerInstance,
});
