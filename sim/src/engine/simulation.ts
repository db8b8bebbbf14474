import { EventQueue } from "./event-queue.js";

/** Lower runs first among events at the same instant. */
export const Priority = { urgent: 0, normal: 10, late: 20 } as const;

export type Handler = (sim: Simulation) => void;

/**
 * One clock and one queue (SimPy's Environment): `now` moves only when an event is popped,
 * so a run is deterministic for a given seed and set of handlers.
 */
export class Simulation {
  private queue = new EventQueue<Handler>();
  private clock: number;
  private processed = 0;

  constructor(start = 0) {
    this.clock = start;
  }

  get now(): number {
    return this.clock;
  }

  get eventsProcessed(): number {
    return this.processed;
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Run `handler` at absolute time `at` (never in the past). */
  at(at: number, handler: Handler, priority: number = Priority.normal): void {
    if (at < this.clock) throw new RangeError(`cannot schedule at ${at}, now is ${this.clock}`);
    this.queue.push(at, priority, handler);
  }

  /** Run `handler` after `delay` from now. */
  after(delay: number, handler: Handler, priority: number = Priority.normal): void {
    this.at(this.clock + delay, handler, priority);
  }

  /** Process events until the queue is empty or the next event is later than `until`. */
  run(until: number = Infinity): void {
    while (this.queue.size > 0 && this.queue.peekTime() <= until) {
      const next = this.queue.pop()!;
      this.clock = next.time;
      this.processed++;
      next.item(this);
    }
    if (until !== Infinity && until > this.clock) this.clock = until;
  }
}
