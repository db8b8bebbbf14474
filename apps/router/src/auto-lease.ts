// Auto-lease on first request: a request for a model no lease holds asks for a lease
// (`requestLease`, which berthd wires to lease creation) and either waits for the route to
// appear (hold: a bounded queue per model, each waiter with a timeout) or is refused at once
// with Retry-After (reject). Repeated requests do not repeat the ask while one is in flight.
import type { AutoLeasePolicy } from "./route-set.js";
import type { RouteTable } from "./route-table.js";
import { refusal, type Refusal } from "./refusal.js";

/** Asks for a lease holding `model`; resolving means "asked", not "ready" (the route says when). */
export type RequestLease = (model: string) => Promise<void> | void;

type HoldPolicy = Extract<AutoLeasePolicy, { mode: "hold" }>;
type RejectPolicy = Extract<AutoLeasePolicy, { mode: "reject" }>;

interface Waiter {
  readonly resolve: (outcome: Refusal | undefined) => void;
  readonly timer: NodeJS.Timeout;
  readonly onAbort?: () => void;
  readonly signal?: AbortSignal;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class AutoLeaser {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Until when each model's last ask counts as in flight (its hold timeout or Retry-After); then a request asks again. */
  private readonly askedUntil = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly table: RouteTable,
    private readonly requestLease: RequestLease | undefined,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = table.onChange(() => this.onRoutesChanged());
  }

  /** Requests waiting for a lease, by model (for /metrics). */
  held(): Map<string, number> {
    return new Map([...this.waiters].map(([model, set]) => [model, set.size]));
  }

  /** Waits until a route for `model` appears; undefined means "route again", a Refusal means answer it. */
  hold(model: string, policy: HoldPolicy, signal?: AbortSignal): Promise<Refusal | undefined> {
    if (this.closed) return Promise.resolve(refusal("Closing", "the router is shutting down"));
    let set = this.waiters.get(model);
    if (set !== undefined && set.size >= policy.queueCap) {
      return Promise.resolve(
        refusal("QueueFull", `no Ready lease holds model '${model}' yet and ${set.size} request(s) already wait for one (queue cap ${policy.queueCap})`, retryAfter(policy.timeoutMs)),
      );
    }
    if (set === undefined) this.waiters.set(model, (set = new Set()));
    const waiters = set;
    const outcome = new Promise<Refusal | undefined>((resolve) => {
      const finish = (w: Waiter, result: Refusal | undefined) => {
        clearTimeout(w.timer);
        if (w.onAbort !== undefined) w.signal?.removeEventListener("abort", w.onAbort);
        waiters.delete(w);
        if (waiters.size === 0 && this.waiters.get(model) === waiters) this.waiters.delete(model);
        resolve(result);
      };
      const timer = setTimeout(
        () => finish(waiter, refusal("HoldTimedOut", `no Ready lease for model '${model}' within ${policy.timeoutMs} ms of asking for one`, retryAfter(policy.timeoutMs))),
        policy.timeoutMs,
      );
      const onAbort = signal === undefined ? undefined : () => finish(waiter, refusal("Closing", "the client went away while waiting"));
      const waiter: Waiter = { resolve: (r) => finish(waiter, r), timer, onAbort, signal };
      if (onAbort !== undefined) signal?.addEventListener("abort", onAbort, { once: true });
      waiters.add(waiter);
    });
    this.ask(model, policy.timeoutMs);
    return outcome;
  }

  /** Reject mode: ask for a lease (once per Retry-After period) and refuse this request. */
  reject(model: string, policy: RejectPolicy): Refusal {
    this.ask(model, policy.retryAfterS * 1000);
    return refusal("AutoLeaseRejected", `no Ready lease holds model '${model}'; one has been requested, retry after ${policy.retryAfterS} s`, policy.retryAfterS);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.resolve(refusal("Closing", "the router is shutting down"));
  }

  private ask(model: string, staleAfterMs: number): void {
    const now = this.now();
    const until = this.askedUntil.get(model);
    if (until !== undefined && now < until) return;
    this.askedUntil.set(model, now + staleAfterMs);
    if (this.requestLease === undefined) return;
    let asked: Promise<void> | void;
    try {
      asked = this.requestLease(model);
    } catch (e) {
      this.failAsk(model, e);
      return;
    }
    if (asked instanceof Promise) asked.catch((e: unknown) => this.failAsk(model, e));
  }

  private failAsk(model: string, e: unknown): void {
    this.askedUntil.delete(model);
    this.log(`auto-lease for model '${model}' failed: ${message(e)}`);
    const set = this.waiters.get(model);
    if (set === undefined) return;
    for (const w of [...set]) w.resolve(refusal("AutoLeaseFailed", `asking for a lease on model '${model}' failed: ${message(e)}`));
  }

  private onRoutesChanged(): void {
    for (const model of [...this.askedUntil.keys()]) if (this.table.routesFor(model) !== undefined) this.askedUntil.delete(model);
    for (const [model, set] of [...this.waiters]) {
      if (this.table.routesFor(model) === undefined) continue;
      for (const w of [...set]) w.resolve(undefined);
    }
  }
}

const retryAfter = (timeoutMs: number) => Math.max(1, Math.ceil(timeoutMs / 1000));
