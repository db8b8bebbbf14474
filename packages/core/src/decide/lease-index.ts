import { canExpire } from "../lease/clock.js";
import { isLive, isTerminal } from "../lease/phase.js";
import type { LeaseRecord } from "../lease/types.js";

// Leases decide looks up by something other than their id, kept beside the leases table so a
// placement (and nextWakeUp) does not scan every lease. The index belongs to one table object
// (a WeakMap keyed by it): Draft updates it on each write it makes to that table and moves it
// to the table's copy when it copies one (the original is not written again; should it be
// asked, it is scanned anew); a table nobody indexed yet is scanned once, on the first
// question. Answers are what a scan of the table would give, in the same (id) order.

/**
 * The earliest of a set of instants, one per lease id, as they change: a binary min-heap whose
 * entries go stale when their lease's instant changes (skipped when they reach the top;
 * compacted when stale ones outnumber the live).
 */
export class Earliest {
  private readonly at = new Map<string, number>();
  private heap: { readonly at: number; readonly id: string }[] = [];

  set(id: string, at: number | undefined): void {
    if (this.at.get(id) === at) return;
    if (at === undefined) {
      this.at.delete(id);
      return;
    }
    this.at.set(id, at);
    this.push({ at, id });
    if (this.heap.length > 2 * this.at.size + 64) this.compact();
  }

  earliest(): number | undefined {
    const heap = this.heap;
    while (heap.length > 0 && this.at.get(heap[0]!.id) !== heap[0]!.at) this.pop();
    return heap[0]?.at;
  }

  private compact(): void {
    const live = [...this.at].map(([id, at]) => ({ at, id }));
    this.heap = [];
    for (const entry of live) this.push(entry);
  }

  private push(entry: { readonly at: number; readonly id: string }): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (heap[up]!.at <= entry.at) break;
      heap[i] = heap[up]!;
      i = up;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

/** When a lease next needs a Tick, the retention of terminal leases aside (see nextWakeUp). */
const deadlineOf = (lease: LeaseRecord): number | undefined => {
  const expiry = isLive(lease.phase) && canExpire(lease) && !Number.isNaN(lease.expiresAt) ? lease.expiresAt : undefined;
  const warm = lease.phase === "Expiring" && lease.warmUntil !== undefined && Number.isFinite(lease.warmUntil) ? lease.warmUntil : undefined;
  return expiry === undefined ? warm : warm === undefined ? expiry : Math.min(expiry, warm);
};

const isAutoscaled = (lease: LeaseRecord): boolean => lease.phase === "Ready" && Boolean(lease.spec.autoscaling) && lease.spec.where.kind === "bespoke";

/** Does the lease name others in `notWith`? (The leases a new lease's name may keep away.) */
const namesOthers = (lease: LeaseRecord): boolean => lease.spec.colocation.notWith.length > 0;

export class LeaseIndex {
  private constructor(
    /** Leases in phase Expiring (warm: candidates for adoption). */
    private readonly expiring: Set<string>,
    /** Leases with a non-empty `notWith`. */
    private readonly namingOthers: Set<string>,
    /** Live leases' expiry and Expiring leases' end of warmth. */
    private readonly deadlines: Earliest,
    /** Terminal leases' phaseSince (retention ends a config's retainTerminal later). */
    private readonly terminalSince: Earliest,
    /** Ready bespoke leases with an autoscaler. */
    private readonly autoscaled: Set<string>,
  ) {}

  static build(table: Readonly<Record<string, LeaseRecord>>): LeaseIndex {
    const index = new LeaseIndex(new Set(), new Set(), new Earliest(), new Earliest(), new Set());
    for (const id in table) index.update(id, undefined, table[id]);
    return index;
  }

  update(id: string, before: LeaseRecord | undefined, after: LeaseRecord | undefined): void {
    this.deadlines.set(id, after === undefined ? undefined : deadlineOf(after));
    this.terminalSince.set(id, after !== undefined && isTerminal(after.phase) ? after.phaseSince : undefined);
    if (after !== undefined && isAutoscaled(after)) this.autoscaled.add(id);
    else this.autoscaled.delete(id);
    if (before?.phase !== after?.phase) {
      if (after?.phase === "Expiring") this.expiring.add(id);
      else this.expiring.delete(id);
    }
    if (after !== undefined && namesOthers(after)) this.namingOthers.add(id);
    else this.namingOthers.delete(id);
  }

  /** The earliest expiry of a live lease or end of warmth of an Expiring one. */
  earliestDeadline(): number | undefined {
    return this.deadlines.earliest();
  }

  /** The earliest phaseSince of a terminal lease. */
  earliestTerminalSince(): number | undefined {
    return this.terminalSince.earliest();
  }

  /** Is any Ready bespoke lease autoscaled? */
  anyAutoscaled(): boolean {
    return this.autoscaled.size > 0;
  }

  /** Ids of Expiring leases that pass `keep`, sorted. */
  expiringWhere(table: Readonly<Record<string, LeaseRecord>>, keep: (lease: LeaseRecord) => boolean): string[] {
    return select(this.expiring, table, keep);
  }

  /** Ids of leases with a non-empty `notWith` that pass `keep`, sorted. */
  namingOthersWhere(table: Readonly<Record<string, LeaseRecord>>, keep: (lease: LeaseRecord) => boolean): string[] {
    return select(this.namingOthers, table, keep);
  }
}

const select = (ids: ReadonlySet<string>, table: Readonly<Record<string, LeaseRecord>>, keep: (lease: LeaseRecord) => boolean): string[] => {
  const out: string[] = [];
  for (const id of ids) if (keep(table[id]!)) out.push(id);
  return out.sort();
};

const indexes = new WeakMap<object, LeaseIndex>();

/** The index of `table`, built by one scan if it has none yet. */
export const leaseIndexOf = (table: Readonly<Record<string, LeaseRecord>>): LeaseIndex => {
  let index = indexes.get(table);
  if (index === undefined) {
    index = LeaseIndex.build(table);
    indexes.set(table, index);
  }
  return index;
};

/** `table` was written in place: keep its index (if it has one) in step. */
export const noteLeaseWrite = (table: Readonly<Record<string, LeaseRecord>>, id: string, before: LeaseRecord | undefined, after: LeaseRecord | undefined): void => {
  indexes.get(table)?.update(id, before, after);
};

/**
 * `to` is a copy of `from` that will be written from now on: `from`'s index moves to it (no
 * copy, no scan). `from` is not written again; asked later, it is scanned anew.
 */
export const carryLeaseIndex = (from: Readonly<Record<string, LeaseRecord>>, to: Readonly<Record<string, LeaseRecord>>): void => {
  const index = indexes.get(from);
  if (index === undefined) return;
  indexes.delete(from);
  indexes.set(to, index);
};
