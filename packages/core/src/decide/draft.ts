import type { FleetGaps } from "../eviction/fleet-gaps.js";
import type { PoolSpec } from "../spec/types.js";
import type { LeaseRecord } from "../lease/types.js";
import { carryLeaseIndex, leaseIndexOf, noteLeaseWrite, type LeaseIndex } from "./lease-index.js";
import type { DecideConfig } from "./config.js";
import type { DecidePolicies } from "./policies.js";
import type {
  DecideResult,
  DecisionRecord,
  EventTag,
  Intent,
  MeasuredFacts,
  ModelFacts,
  NodeRecord,
  PhaseChange,
  Rejection,
  ServerRecord,
  Snapshot,
} from "./types.js";

/** Told of a table's copies and writes, to keep an index of it in step (lease-index.ts). */
interface TableWatcher<V> {
  copied(from: Readonly<Record<string, V>>, to: Readonly<Record<string, V>>): void;
  written(table: Readonly<Record<string, V>>, key: string, before: V | undefined, after: V | undefined): void;
}

/** A record copied on its first write in this step, then written in place. */
class CowRecord<V> {
  constructor(
    private value: Readonly<Record<string, V>>,
    /** True when the caller handed the record over (decideOwned): written in place from the start. */
    private owned: boolean,
    private readonly watcher?: TableWatcher<V>,
  ) {}
  get(key: string): V | undefined {
    return Object.prototype.hasOwnProperty.call(this.value, key) ? this.value[key] : undefined;
  }
  private sorted: string[] | undefined;
  set(key: string, v: V): void {
    const before = this.get(key);
    if (this.sorted && before === undefined) this.sorted = undefined;
    const table = this.own();
    table[key] = v;
    this.watcher?.written(table, key, before, v);
  }
  delete(key: string): void {
    const before = this.get(key);
    if (before === undefined) return;
    this.sorted = undefined;
    const table = this.own();
    delete table[key];
    this.watcher?.written(table, key, before, undefined);
  }
  /** All keys, sorted (remembered until a key is added or removed). */
  keys(): readonly string[] {
    this.sorted ??= Object.keys(this.value).sort();
    return this.sorted;
  }
  /** Keys whose value passes `keep`, sorted: one pass, sorting only what passed. */
  select(keep: (value: V) => boolean): string[] {
    const out: string[] = [];
    const value = this.value;
    for (const key in value) if (keep(value[key]!)) out.push(key);
    return out.sort();
  }
  values(): V[] {
    return Object.values(this.value);
  }
  result(): Readonly<Record<string, V>> {
    return this.value;
  }
  private own(): Record<string, V> {
    if (!this.owned) {
      const from = this.value;
      this.value = { ...from };
      this.owned = true;
      this.watcher?.copied(from, this.value);
    }
    return this.value as Record<string, V>;
  }
}

const leaseIndexWatcher: TableWatcher<LeaseRecord> = { copied: carryLeaseIndex, written: noteLeaseWrite };

/**
 * The working state of one decide step. The input snapshot is never written: each record
 * is copied once, on its first write, so a step costs what it touches plus one copy per
 * touched table.
 */
export class Draft {
  readonly leases: CowRecord<LeaseRecord>;
  readonly names: CowRecord<string>;
  readonly servers: CowRecord<ServerRecord>;
  readonly nodes: CowRecord<NodeRecord>;
  readonly pools: CowRecord<PoolSpec>;
  readonly models: CowRecord<ModelFacts>;
  readonly measured: CowRecord<MeasuredFacts>;
  readonly intents: Intent[] = [];
  readonly rejections: Rejection[] = [];
  readonly changes: PhaseChange[] = [];
  private readonly newDecisions: DecisionRecord[] = [];
  now: number;
  nextId: number;
  rngState: number;
  lastAutoscaleAt: number;
  /** Snapshot.warmEvictions as of this step (replaced, never written in place). */
  warmEvictions: readonly number[];
  /** Snapshot.fleetGaps as of this step (replaced, never written in place). */
  fleetGaps: FleetGaps | undefined;

  constructor(
    readonly base: Snapshot,
    readonly config: DecideConfig,
    readonly policies: DecidePolicies,
    readonly eventTag: EventTag,
    /** The caller handed `base` over: its tables are written in place (see decideOwned). */
    private readonly owned: boolean = false,
  ) {
    this.leases = new CowRecord(base.leases, owned, leaseIndexWatcher);
    this.names = new CowRecord(base.names, owned);
    this.servers = new CowRecord(base.servers, owned);
    this.nodes = new CowRecord(base.nodes, owned);
    this.pools = new CowRecord(base.pools, owned);
    this.models = new CowRecord(base.catalog.models, owned);
    this.measured = new CowRecord(base.catalog.measured, owned);
    this.now = base.now;
    this.nextId = base.nextId;
    this.rngState = base.rngState;
    this.lastAutoscaleAt = base.lastAutoscaleAt;
    this.warmEvictions = base.warmEvictions ?? [];
    this.fleetGaps = base.fleetGaps;
  }

  /** A fresh id with `prefix` (server ids, decision numbers): from the snapshot's counter. */
  freshId(prefix: string): string {
    return `${prefix}-${this.nextId++}`;
  }

  emit(intent: Intent): void {
    this.intents.push(intent);
  }

  reject(rejection: Rejection): void {
    this.rejections.push(rejection);
  }

  /** Record an explained decision: in the log and as an intent for the store. */
  record(decision: Omit<DecisionRecord, "seq" | "at">): void {
    const full: DecisionRecord = { seq: this.nextId++, at: this.now, ...decision };
    this.newDecisions.push(full);
    this.intents.push({ _tag: "RecordDecision", decision: full });
  }

  /** The live lease that owns `name`, if any. */
  leaseByName(name: string): LeaseRecord | undefined {
    const id = this.names.get(name);
    return id === undefined ? undefined : this.leases.get(id);
  }

  /** The index of the leases as they are now in this step (lease-index.ts). */
  leaseIndex(): LeaseIndex {
    return leaseIndexOf(this.leases.result());
  }

  /** Leases bound to `serverId`, in id order. */
  leasesOn(serverId: string): LeaseRecord[] {
    const server = this.servers.get(serverId);
    if (!server) return [];
    const out: LeaseRecord[] = [];
    for (const id of server.leases) {
      const lease = this.leases.get(id);
      if (lease) out.push(lease);
    }
    return out;
  }

  private appendDecisions(limit: number): readonly DecisionRecord[] {
    if (!this.owned) return [...this.base.decisions, ...this.newDecisions].slice(-limit);
    const log = this.base.decisions as DecisionRecord[];
    log.push(...this.newDecisions);
    if (log.length > limit) log.splice(0, log.length - limit);
    return log;
  }

  finish(): DecideResult {
    const limit = this.config.decisionLogLimit;
    const decisions = this.newDecisions.length === 0 ? this.base.decisions : this.appendDecisions(Math.max(0, limit));
    const catalog =
      this.models.result() === this.base.catalog.models && this.measured.result() === this.base.catalog.measured
        ? this.base.catalog
        : { models: this.models.result(), measured: this.measured.result() };
    const snapshot: Snapshot = {
      now: this.now,
      leases: this.leases.result(),
      names: this.names.result(),
      servers: this.servers.result(),
      nodes: this.nodes.result(),
      pools: this.pools.result(),
      catalog,
      decisions,
      nextId: this.nextId,
      rngState: this.rngState,
      lastAutoscaleAt: this.lastAutoscaleAt,
      ...(this.warmEvictions.length > 0 ? { warmEvictions: this.warmEvictions } : {}),
      ...(this.fleetGaps !== undefined ? { fleetGaps: this.fleetGaps } : {}),
    };
    return { snapshot, intents: this.intents, rejections: this.rejections, changes: this.changes };
  }
}
