// Execution slots of one model version: as many concurrent executions as the config's
// instance_group count says (Triton runs one request per model instance at a time); the
// rest wait in FIFO order, and that wait is the queue time Triton reports.

export class ExecutionSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly capacity: number) {
    this.free = Math.max(1, capacity);
  }

  /** Resolves with a release function once a slot is free. */
  acquire(): Promise<() => void> {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve(release);
    }
    return new Promise((resolve) => this.waiting.push(() => resolve(release)));
  }
}
