import type { DecideResult, Event, Intent, Snapshot } from "@berth/core/decide/types";
import type { Simulation } from "../engine/index.js";
import { Priority } from "../engine/index.js";

/** decide as the simulator calls it: one event in, the next snapshot and its intents out. */
export type DecideStep = (snapshot: Snapshot, event: Event) => DecideResult;

/** What the loop tells its observers after each event (metrics, trace, invariant checks). */
export interface Step {
  readonly event: Event;
  readonly before: Snapshot;
  readonly result: DecideResult;
}

/**
 * The control plane of the simulation: one snapshot, one reducer. Every source (workload,
 * backend reports, timers, failures) hands its events to `submit`; they are queued on the one
 * Simulation at the current instant and decided one at a time, in (time, priority, sequence)
 * order, exactly as the control plane's single reducer would.
 */
export class ControlLoop {
  private current: Snapshot;
  private steps = 0;

  constructor(
    private readonly sim: Simulation,
    initial: Snapshot,
    private readonly step: DecideStep,
    private readonly execute: (intent: Intent) => void,
    private readonly observers: readonly ((s: Step) => void)[],
  ) {
    this.current = initial;
  }

  get snapshot(): Snapshot {
    return this.current;
  }

  get decideCalls(): number {
    return this.steps;
  }

  /** Queue an event for decide at the current instant (its `at` is set to the time it is decided). */
  submit(event: Event, priority: number = Priority.normal): void {
    this.sim.at(this.sim.now, () => this.deliver(event), priority);
  }

  /** Queue an event for decide at `at` (future). */
  submitAt(at: number, make: () => Event | undefined, priority: number = Priority.normal): void {
    this.sim.at(at, () => {
      const event = make();
      if (event) this.deliver(event);
    }, priority);
  }

  private deliver(raw: Event): void {
    const event = raw.at === this.sim.now ? raw : { ...raw, at: this.sim.now };
    const before = this.current;
    const result = this.step(before, event);
    this.current = result.snapshot;
    this.steps++;
    for (const intent of result.intents) this.execute(intent);
    // after the intents are carried out, so observers see the backend and decide agree or not
    for (const observe of this.observers) observe({ event, before, result });
  }
}
