import type { ClusterNode } from "@berth/core/cluster/types";
import type { Event, Intent, ReplicaPlacement } from "@berth/core/decide/types";
import type { ModelRef, ServerTemplate } from "@berth/core/spec/types";
import type { Simulation } from "../engine/index.js";
import { PhysicalCluster } from "../cluster/physical.js";
import type { FailureSpec } from "../scenario/schema.js";
import type { Draw } from "../workload/distribution.js";
import { modelKey, type SimCatalog } from "./catalog.js";
import type { RandomStreams } from "./random-streams.js";

type ReplicaState = "Starting" | "Up" | "Down";

interface SimReplica {
  placement: ReplicaPlacement;
  state: ReplicaState;
  /** Bumped whenever the replica restarts or goes away: scheduled callbacks of an older epoch do nothing. */
  epoch: number;
  /** True once the node under it is lost for good. */
  lost: boolean;
}

type LoadState = "Waiting" | "Loading" | "Loaded" | "Failed";

interface SimAssignment {
  readonly leaseId: string;
  readonly models: readonly ModelRef[];
  state: LoadState;
  epoch: number;
}

interface SimServer {
  readonly id: string;
  readonly template: ServerTemplate;
  replicas: SimReplica[];
  readonly assignments: Map<string, SimAssignment>;
  /** Models resident on the server (keys), shared by the leases that hold them. */
  readonly loaded: Set<string>;
  /** What the backend last told decide, to report only changes. */
  reported: { state: "Up" | "Down" | "Gone" | "None"; ready: number };
}

/** Counters the run reports. */
export interface BackendCounters {
  serversCreated: number;
  serversDeleted: number;
  replicasStarted: number;
  /** Loads that had to bring models into GPU memory (a cold start for the lease). */
  coldLoads: number;
  /** Assignments whose models were all resident already. */
  warmLoads: number;
  slowLoads: number;
  failedLoads: number;
  serverCrashes: number;
  nodesLost: number;
  intentsRejected: number;
}

export interface BackendOptions {
  readonly sim: Simulation;
  readonly physical: PhysicalCluster;
  readonly catalog: SimCatalog;
  readonly streams: RandomStreams;
  readonly startup: Draw;
  readonly failures: FailureSpec;
  /** Hands an event to the control loop (which queues it at the current instant). */
  readonly emit: (event: Event) => void;
}

/**
 * The simulator's backend and sidecars: makes decide's intents "real" on the simulated
 * cluster and reports back what a real backend watch and sidecar would: servers Up after
 * their start-up time, models Loaded (or Failed) after their load time, servers Down or
 * Gone when nodes are lost or servers crash.
 */
export class SimulatedBackend {
  readonly counters: BackendCounters = {
    serversCreated: 0, serversDeleted: 0, replicasStarted: 0, coldLoads: 0, warmLoads: 0,
    slowLoads: 0, failedLoads: 0, serverCrashes: 0, nodesLost: 0, intentsRejected: 0,
  };
  private readonly servers = new Map<string, SimServer>();
  /** Nodes lost for good: a replica placed there can never start. */
  private readonly lostNodes = new Set<string>();

  constructor(private readonly o: BackendOptions) {}

  /** Ready replicas of a server as the backend sees them (0 when unknown). */
  readyReplicas(serverId: string): number {
    const s = this.servers.get(serverId);
    return s ? s.replicas.filter((r) => r.state === "Up").length : 0;
  }

  /** Whether the lease's models are resident on the server. */
  isLoaded(serverId: string, leaseId: string): boolean {
    return this.servers.get(serverId)?.assignments.get(leaseId)?.state === "Loaded";
  }

  serverIds(): string[] {
    return [...this.servers.keys()];
  }

  execute(intent: Intent): void {
    switch (intent._tag) {
      case "EnsureServer": return this.ensureServer(intent.serverId, intent.template, intent.placements.length > 0 ? intent.placements : [{ node: intent.node, gpus: intent.gpus }]);
      case "ScaleServer": return this.scaleServer(intent.serverId, intent.placements);
      case "DeleteServer": return this.deleteServer(intent.serverId);
      case "AssignLease": return this.assignLease(intent.serverId, intent.leaseId, intent.models);
      case "UnassignLease": return this.unassignLease(intent.serverId, intent.leaseId, intent.unload);
      case "MarkFailed":
      case "RecordDecision":
        return; // bookkeeping for the store and the explain log; nothing to make real
    }
  }

  // ---- servers and replicas -------------------------------------------------------------

  private ensureServer(id: string, template: ServerTemplate, placements: readonly ReplicaPlacement[]): void {
    const existing = this.servers.get(id);
    if (existing) return this.scaleServer(id, placements);
    const server: SimServer = { id, template, replicas: [], assignments: new Map(), loaded: new Set(), reported: { state: "None", ready: 0 } };
    this.servers.set(id, server);
    this.counters.serversCreated++;
    for (const p of placements) server.replicas.push(this.startReplica(server, p));
    this.maybeScheduleCrash(server);
    this.report(server); // silent while starting; Gone at once if every replica landed on a lost node
  }

  private startReplica(server: SimServer, placement: ReplicaPlacement): SimReplica {
    const node = this.o.physical.nodes.get(placement.node);
    if (!node || node.state !== "Ready" || !this.o.physical.take({ serverId: server.id, group: server.template.group, placement, resources: server.template.resources })) {
      // A real backend would leave the pod unschedulable: the replica stays Down.
      this.counters.intentsRejected++;
      return { placement, state: "Down", epoch: 0, lost: !node || this.lostNodes.has(placement.node) };
    }
    const replica: SimReplica = { placement, state: "Starting", epoch: 0, lost: false };
    this.boot(server, replica);
    return replica;
  }

  /** Start-up, then Up; a replica joining a server with leases also loads them before it serves. */
  private boot(server: SimServer, replica: SimReplica): void {
    replica.state = "Starting";
    const epoch = ++replica.epoch;
    this.counters.replicasStarted++;
    const startup = this.o.startup(this.o.streams.startup);
    this.o.sim.after(startup, () => {
      if (this.servers.get(server.id) !== server || replica.epoch !== epoch) return;
      replica.state = "Up";
      this.report(server);
      this.loadPending(server);
    });
  }

  private scaleServer(id: string, placements: readonly ReplicaPlacement[]): void {
    const server = this.servers.get(id);
    if (!server) { this.counters.intentsRejected++; return; }
    const next: SimReplica[] = [];
    placements.forEach((p, i) => {
      const current = server.replicas[i];
      if (current && samePlacement(current.placement, p)) { next.push(current); return; }
      if (current) this.stopReplica(server, current);
      next.push(this.startReplica(server, p));
    });
    for (const r of server.replicas.slice(placements.length)) this.stopReplica(server, r);
    server.replicas = next;
    this.report(server);
  }

  private stopReplica(server: SimServer, replica: SimReplica): void {
    replica.epoch++;
    this.o.physical.give(server.id, replica.placement);
    replica.state = "Down";
  }

  private deleteServer(id: string): void {
    const server = this.servers.get(id);
    if (!server) return; // idempotent
    for (const r of server.replicas) this.stopReplica(server, r);
    this.servers.delete(id);
    this.counters.serversDeleted++;
  }

  // ---- loads ---------------------------------------------------------------------------

  private assignLease(serverId: string, leaseId: string, models: readonly ModelRef[]): void {
    const server = this.servers.get(serverId);
    if (!server) { this.counters.intentsRejected++; return; }
    const existing = server.assignments.get(leaseId);
    if (existing?.state === "Loading" || existing?.state === "Waiting") return;
    if (existing?.state === "Loaded" && models.every((m) => server.loaded.has(modelKey(m)))) {
      // Re-sent assignment (e.g. after a restart the sidecar already recovered from): confirm.
      this.o.emit({ _tag: "ModelsLoaded", at: this.o.sim.now, serverId, leaseId, measuredMemory: this.memoryOf(models), loadTime: 0 });
      return;
    }
    const a: SimAssignment = { leaseId, models, state: "Waiting", epoch: 0 };
    server.assignments.set(leaseId, a);
    if (server.replicas.some((r) => r.state === "Up")) this.load(server, a);
  }

  private loadPending(server: SimServer): void {
    for (const a of server.assignments.values()) if (a.state === "Waiting") this.load(server, a);
  }

  private load(server: SimServer, a: SimAssignment): void {
    a.state = "Loading";
    const epoch = ++a.epoch;
    const rng = this.o.streams.loads;
    let time = 0;
    let cold = false;
    for (const ref of a.models) {
      if (server.loaded.has(modelKey(ref))) continue;
      cold = true;
      const m = this.o.catalog.get(ref);
      time += m ? m.drawLoadTime(rng) : 0;
    }
    const slow = cold && rng.next() < this.o.failures.slowLoads.probability;
    if (slow) { time *= this.o.failures.slowLoads.factor; this.counters.slowLoads++; }
    const fails = cold && rng.next() < this.o.failures.failedLoads.probability;
    if (cold) this.counters.coldLoads++; else this.counters.warmLoads++;
    this.o.sim.after(time, () => {
      if (this.servers.get(server.id) !== server || server.assignments.get(a.leaseId) !== a || a.epoch !== epoch) return;
      if (fails) {
        a.state = "Failed";
        this.counters.failedLoads++;
        this.o.emit({ _tag: "ModelsFailed", at: this.o.sim.now, serverId: server.id, leaseId: a.leaseId, error: "simulated load failure" });
        return;
      }
      a.state = "Loaded";
      for (const ref of a.models) server.loaded.add(modelKey(ref));
      this.o.emit({ _tag: "ModelsLoaded", at: this.o.sim.now, serverId: server.id, leaseId: a.leaseId, measuredMemory: this.memoryOf(a.models), loadTime: time });
    });
  }

  private unassignLease(serverId: string, leaseId: string, unload: readonly ModelRef[]): void {
    const server = this.servers.get(serverId);
    if (!server) return;
    const a = server.assignments.get(leaseId);
    if (a) { a.epoch++; server.assignments.delete(leaseId); }
    for (const ref of unload) server.loaded.delete(modelKey(ref));
  }

  private memoryOf(models: readonly ModelRef[]): number {
    let sum = 0;
    for (const ref of models) sum += this.o.catalog.get(ref)?.gpuMemory ?? 0;
    return sum;
  }

  // ---- failures ------------------------------------------------------------------------

  private maybeScheduleCrash(server: SimServer): void {
    const crash = this.o.failures.serverCrash;
    if (!crash) return;
    const delay = -crash.meanTimeBetween * Math.log(1 - this.o.streams.failures.next());
    this.o.sim.after(delay, () => {
      if (this.servers.get(server.id) !== server) return;
      const up = server.replicas.filter((r) => r.state === "Up");
      if (up.length > 0) {
        const victim = up[this.o.streams.failures.int(up.length)];
        this.counters.serverCrashes++;
        victim.state = "Down";
        if (!server.replicas.some((r) => r.state === "Up")) this.forgetLoads(server);
        this.report(server);
        this.boot(server, victim); // the backend restarts it, as a Deployment would
      }
      this.maybeScheduleCrash(server);
    });
  }

  /** A server with no live replica has lost its models; the sidecar reloads its assignments on restart. */
  private forgetLoads(server: SimServer): void {
    server.loaded.clear();
    for (const a of server.assignments.values()) { a.epoch++; a.state = "Waiting"; }
  }

  /** The node goes away: its replicas stop; servers left without replicas are Down (or Gone for good). */
  loseNode(name: string, forGood: boolean): ClusterNode | undefined {
    const node = this.o.physical.setNodeState(name, "NotReady");
    if (!node) return undefined;
    this.counters.nodesLost++;
    if (forGood) this.lostNodes.add(name);
    for (const server of this.servers.values()) {
      let touched = false;
      for (const r of server.replicas) {
        if (r.placement.node !== name || (r.state === "Down" && r.lost)) continue;
        r.epoch++;
        this.o.physical.give(server.id, r.placement);
        r.state = "Down";
        r.lost = forGood;
        touched = true;
      }
      if (!touched) continue;
      if (!server.replicas.some((r) => r.state === "Up" || r.state === "Starting")) this.forgetLoads(server);
      this.report(server);
    }
    return node;
  }

  /** The node comes back: replicas that waited for it start again. */
  recoverNode(name: string): ClusterNode | undefined {
    const node = this.o.physical.setNodeState(name, "Ready");
    if (!node) return undefined;
    for (const server of this.servers.values()) {
      for (const r of server.replicas) {
        if (r.placement.node !== name || r.state !== "Down" || r.lost) continue;
        if (!this.o.physical.take({ serverId: server.id, group: server.template.group, placement: r.placement, resources: server.template.resources })) continue;
        this.boot(server, r);
      }
    }
    return node;
  }

  /** Reports the server's state to decide when it changed (a backend watch). */
  private report(server: SimServer): void {
    const ready = server.replicas.filter((r) => r.state === "Up").length;
    const alive = server.replicas.some((r) => !r.lost);
    const state = ready > 0 ? "Up" : alive || server.replicas.length === 0 ? "Down" : "Gone";
    if (state === "Down" && server.reported.state === "None") return; // still starting: nothing to say yet
    if (state === server.reported.state && ready === server.reported.ready) return;
    server.reported = { state, ready };
    this.o.emit({ _tag: "ServerObserved", at: this.o.sim.now, serverId: server.id, state, readyReplicas: ready });
    if (state === "Gone") {
      // Nothing of it is left to manage; decide will place its leases elsewhere.
      this.servers.delete(server.id);
    }
  }
}

const samePlacement = (a: ReplicaPlacement, b: ReplicaPlacement): boolean =>
  a.node === b.node && a.gpus.length === b.gpus.length && a.gpus.every((g, i) => g.index === b.gpus[i].index && g.milli === b.gpus[i].milli && g.memory === b.gpus[i].memory);
