// Requests per lease since the last report. berthd renews a lease while it is active, so the
// router counts what it routes and hands the counts over, drained, on a timer and at close.
import type { EpochMs } from "@berth/core/units";

/** Receives one lease's requests since its previous report (the core's Activity event). */
export type ActivityListener = (lease: string, requests: number, at: EpochMs) => void;

export class ActivityCounter {
  private counts = new Map<string, number>();

  record(leases: readonly string[]): void {
    for (const lease of leases) this.counts.set(lease, (this.counts.get(lease) ?? 0) + 1);
  }

  /** Hands every non-zero count to `listener` and starts counting afresh. */
  drain(at: EpochMs, listener: ActivityListener): { lease: string; requests: number }[] {
    const drained = [...this.counts].map(([lease, requests]) => ({ lease, requests }));
    this.counts = new Map();
    for (const { lease, requests } of drained) listener(lease, requests, at);
    return drained;
  }
}
