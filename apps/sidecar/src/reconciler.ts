// Level-triggered reconciliation of one server: the last desired state berthd sent against
// what the server has loaded. One cycle at a time (cycles requested while one runs coalesce
// into one more). Each cycle:
//   1. checks the server is ready (if not, nothing is touched: a restarting server is waited for);
//   2. forgets models the server no longer has READY (it restarted, or someone unloaded them),
//      so they are loaded again;
//   3. unloads models no assigned lease holds any more (first, to free memory);
//   4. pulls, links and loads wanted models that are not loaded;
//   5. reports each lease whose state changed: Loaded (memory measured after load), Failed
//      (the pull's or the server's error), Unloaded (no longer assigned, its own models gone).
// A failed model is tried again when berthd sends a new generation or the server restarts.
import type { Assignment, LeaseState, LeaseStatus, ServerHealth, SidecarReport } from "@berth/api/sidecar";
import type { ModelPuller } from "@berth/repository/pull/model-puller";
import type { ModelSource } from "@berth/repository/sources/model-source";
import { desiredModels, modelsByLease, type WantedModel } from "./desired-models.js";
import type { Log } from "./log.js";
import { ServerError, type ServerClient } from "./server-client.js";
import type { ServerRepository } from "./server-repository.js";

export type ModelState =
  | { readonly phase: "Loaded"; readonly repository: string; readonly memoryBytes: number; readonly loadTimeMs: number }
  | { readonly phase: "Failed"; readonly repository: string; readonly error: string };

export interface ReconcilerDeps {
  readonly server: ServerClient;
  readonly puller: ModelPuller;
  /** By repository name; the first is the default. */
  readonly sources: ReadonlyMap<string, ModelSource>;
  readonly serverRepository: ServerRepository;
  readonly report: (report: SidecarReport) => void;
  readonly log: Log;
  readonly now: () => number;
}

export class Reconciler {
  private desired: Assignment | undefined;
  private readonly models = new Map<string, ModelState>();
  /** Last status sent per lease (without the generation), to send only changes. */
  private readonly reported = new Map<string, string>();
  /** Models of every lease of the last desired state, to tell when a removed lease's models are gone. */
  private leaseModels = new Map<string, string[]>();
  private health: ServerHealth | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly defaultRepository: string;

  constructor(private readonly deps: ReconcilerDeps) {
    const first = [...deps.sources.keys()][0];
    if (first === undefined) throw new Error("the sidecar needs at least one repository");
    this.defaultRepository = first;
  }

  /** The generation of the desired state last received (0: none yet). */
  get generation(): number {
    return this.desired?.generation ?? 0;
  }

  /** The server's health as the last cycle found it. */
  get serverHealth(): ServerHealth | undefined {
    return this.health;
  }

  /** Models this sidecar loaded and believes loaded. */
  loadedModels(): string[] {
    return [...this.models].filter(([, s]) => s.phase === "Loaded").map(([name]) => name).sort();
  }

  modelState(name: string): ModelState | undefined {
    return this.models.get(name);
  }

  /** Replaces the desired state and starts a cycle. */
  setDesired(assignment: Assignment): Promise<void> {
    if (assignment.generation !== this.desired?.generation) {
      for (const [name, state] of this.models) if (state.phase === "Failed") this.models.delete(name);
    }
    this.desired = assignment;
    return this.tick();
  }

  /** After a reconnect: send every lease's status and the server's health again. */
  resendAll(): void {
    this.reported.clear();
    if (this.health !== undefined) this.deps.report({ health: this.health });
    this.reportLeases();
  }

  /** Resolves when no cycle runs. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** Runs a cycle, or one more after the running one; resolves when that cycle is done. Never rejects. */
  tick(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const loop = async () => {
      do {
        this.again = false;
        try {
          await this.cycle();
        } catch (e) {
          this.deps.log("sidecar.reconcile-error", { error: (e as Error).message });
        }
      } while (this.again);
      this.running = undefined;
    };
    this.running = loop();
    return this.running;
  }

  private setHealth(health: ServerHealth): void {
    if (this.health?.ready === health.ready && this.health.message === health.message) return;
    this.health = health;
    this.deps.log("sidecar.server-health", { ...health });
    this.deps.report({ health });
  }

  private async cycle(): Promise<void> {
    const { server } = this.deps;
    const health = await server.ready();
    this.setHealth(health);
    if (!health.ready) return;
    let readyOnServer: Set<string>;
    try {
      readyOnServer = new Set(await server.readyModels());
    } catch (e) {
      this.deps.log("sidecar.index-error", { error: (e as Error).message });
      return;
    }
    for (const [name, state] of this.models) {
      if (state.phase === "Loaded" && !readyOnServer.has(name)) {
        this.deps.log("sidecar.model-lost", { model: name });
        this.models.delete(name);
      }
    }
    const desired = this.desired;
    if (desired === undefined) return;
    const { wanted } = desiredModels(desired, this.defaultRepository);
    await this.adopt(wanted, readyOnServer);

    for (const [name, state] of [...this.models]) {
      if (!wanted.has(name)) await this.unload(name, state);
    }
    await Promise.all([...wanted.values()].filter((w) => !this.models.has(w.name)).map((w) => this.load(w)));
    this.reportLeases();
  }

  /** Models the server already has READY from our links (a sidecar restart): kept, not reloaded. */
  private async adopt(wanted: ReadonlyMap<string, WantedModel>, readyOnServer: ReadonlySet<string>): Promise<void> {
    for (const w of wanted.values()) {
      if (this.models.has(w.name) || !readyOnServer.has(w.name)) continue;
      const target = await this.deps.serverRepository.target(w.name);
      if (target !== this.deps.puller.modelDirectory(w.repository, w.name)) continue;
      const memoryBytes = await this.measure(w.name, 0);
      this.models.set(w.name, { phase: "Loaded", repository: w.repository, memoryBytes, loadTimeMs: 0 });
      this.deps.log("sidecar.model-adopted", { model: w.name, memoryBytes });
    }
  }

  private async unload(name: string, state: ModelState): Promise<void> {
    if (state.phase === "Loaded") {
      try {
        await this.deps.server.unload(name);
      } catch (e) {
        // Unreachable: try again next cycle. Rejected: the server does not hold it; nothing to undo.
        if (e instanceof ServerError && e.reason === "Unreachable") return;
        this.deps.log("sidecar.unload-error", { model: name, error: (e as Error).message });
      }
    }
    await this.deps.serverRepository.unlink(name).catch(() => undefined);
    this.models.delete(name);
    this.deps.log("sidecar.model-unloaded", { model: name });
  }

  private async load(w: WantedModel): Promise<void> {
    const started = this.deps.now();
    const failed = (error: string) => {
      this.models.set(w.name, { phase: "Failed", repository: w.repository, error });
      this.deps.log("sidecar.model-failed", { model: w.name, repository: w.repository, error });
    };
    const source = this.deps.sources.get(w.repository);
    if (source === undefined) {
      return failed(`repository '${w.repository}' is not configured on this sidecar (have: ${[...this.deps.sources.keys()].join(", ")})`);
    }
    let pulledBytes: number;
    let directory: string;
    try {
      const pulled = await this.deps.puller.pull({ repository: w.repository, source, model: w.name, version: w.version });
      pulledBytes = pulled.bytes;
      directory = pulled.directory;
      await this.deps.serverRepository.link(w.name, directory);
    } catch (e) {
      return failed((e as Error).message);
    }
    try {
      await this.deps.server.load(w.name);
    } catch (e) {
      // A server that went away is not the model's fault: the next cycle waits for it and retries.
      if (e instanceof ServerError && e.reason === "Unreachable") {
        this.deps.log("sidecar.load-deferred", { model: w.name, error: e.message });
        return;
      }
      return failed((e as Error).message);
    }
    const memoryBytes = await this.measure(w.name, pulledBytes);
    const loadTimeMs = this.deps.now() - started;
    this.models.set(w.name, { phase: "Loaded", repository: w.repository, memoryBytes, loadTimeMs });
    this.deps.log("sidecar.model-loaded", { model: w.name, repository: w.repository, memoryBytes, loadTimeMs });
  }

  /** Memory after load from the server's statistics (memory_usage); the model's file size when it reports none. */
  private async measure(name: string, fallbackBytes: number): Promise<number> {
    try {
      const stats = await this.deps.server.stats(name);
      const reported = stats.filter((s) => s.name === name && s.memoryBytes !== undefined);
      if (reported.length > 0) return reported.reduce((n, s) => n + (s.memoryBytes ?? 0), 0);
    } catch (e) {
      this.deps.log("sidecar.stats-error", { model: name, error: (e as Error).message });
    }
    return fallbackBytes;
  }

  private statusOf(models: readonly string[], conflict: { model: string; error: string } | undefined): LeaseState | undefined {
    if (conflict !== undefined) return { failed: { error: conflict.error, model: conflict.model } };
    const states = models.map((m) => [m, this.models.get(m)] as const);
    const failure = states.find(([, s]) => s?.phase === "Failed");
    if (failure !== undefined) {
      const [model, state] = failure;
      return { failed: { model, error: (state as Extract<ModelState, { phase: "Failed" }>).error } };
    }
    if (states.some(([, s]) => s === undefined)) return undefined;
    const loaded = states.map(([m, s]) => [m, s as Extract<ModelState, { phase: "Loaded" }>] as const);
    return {
      loaded: {
        measured_memory_bytes: loaded.reduce((n, [, s]) => n + s.memoryBytes, 0),
        load_time_ms: Math.max(0, ...loaded.map(([, s]) => s.loadTimeMs)),
        models: loaded.map(([model, s]) => ({ model, memory_bytes: s.memoryBytes })),
      },
    };
  }

  private reportLeases(): void {
    const desired = this.desired;
    if (desired === undefined) return;
    const { wanted, conflicts } = desiredModels(desired, this.defaultRepository);
    for (const lease of desired.leases) {
      const status = this.statusOf(lease.models.map((m) => m.name), conflicts.get(lease.lease_id));
      if (status === undefined) continue;
      const key = JSON.stringify(status);
      if (this.reported.get(lease.lease_id) === key) continue;
      this.reported.set(lease.lease_id, key);
      this.deps.report({ lease: { lease_id: lease.lease_id, generation: desired.generation, ...status } as LeaseStatus });
    }
    const assigned = modelsByLease(desired.leases);
    const previous = this.leaseModels;
    for (const leaseId of [...this.reported.keys()]) {
      if (assigned.has(leaseId)) continue;
      // Unloaded once the models only it held are gone from the server.
      const pending = (previous.get(leaseId) ?? []).some((m) => this.models.has(m) && !wanted.has(m));
      if (pending) continue;
      this.reported.delete(leaseId);
      this.deps.report({ lease: { lease_id: leaseId, generation: desired.generation, unloaded: {} } });
    }
    for (const [leaseId, models] of assigned) previous.set(leaseId, models);
    for (const leaseId of [...previous.keys()]) if (!assigned.has(leaseId) && !this.reported.has(leaseId)) previous.delete(leaseId);
  }
}
