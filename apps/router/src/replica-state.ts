// What the router knows about each replica from its own traffic: requests in flight (the
// picker's load signal) and whether a recent connection failure marked it down. A down mark
// lapses after `downMs`, so the next request tries the replica again (half-open), and a
// connection refused costs only a retry on another replica.
export class ReplicaState {
  private readonly outstanding = new Map<string, number>();
  private readonly downUntil = new Map<string, number>();

  constructor(
    private readonly downMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  outstandingOf(id: string): number {
    return this.outstanding.get(id) ?? 0;
  }

  begin(id: string): void {
    this.outstanding.set(id, (this.outstanding.get(id) ?? 0) + 1);
  }

  end(id: string): void {
    const n = (this.outstanding.get(id) ?? 0) - 1;
    this.outstanding.set(id, n > 0 ? n : 0);
  }

  markDown(id: string): void {
    this.downUntil.set(id, this.now() + this.downMs);
  }

  markUp(id: string): void {
    if (this.downUntil.size > 0) this.downUntil.delete(id);
  }

  isDown(id: string): boolean {
    if (this.downUntil.size === 0) return false;
    const until = this.downUntil.get(id);
    return until !== undefined && until > this.now();
  }

  /** Every replica seen, for /metrics. */
  entries(): { id: string; outstanding: number; up: boolean }[] {
    const ids = new Set([...this.outstanding.keys(), ...this.downUntil.keys()]);
    return [...ids].sort().map((id) => ({ id, outstanding: this.outstandingOf(id), up: !this.isDown(id) }));
  }

  /** Forgets replicas no longer in the table (keeps those with requests still in flight). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.outstanding.keys()) if (!ids.has(id) && this.outstandingOf(id) === 0) this.outstanding.delete(id);
    for (const id of this.downUntil.keys()) if (!ids.has(id)) this.downUntil.delete(id);
  }
}
