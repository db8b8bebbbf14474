/**
 * A binary min-heap of events ordered by (time, priority, sequence). The sequence number
 * makes the order total, so two runs with the same seed pop events in the same order.
 * Stored as parallel arrays: the simulator pushes and pops millions of events.
 */
export class EventQueue<E> {
  private times: number[] = [];
  private prios: number[] = [];
  private seqs: number[] = [];
  private items: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  push(time: number, priority: number, item: E): void {
    let i = this.items.length;
    this.times.push(time);
    this.prios.push(priority);
    this.seqs.push(this.nextSeq++);
    this.items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.items.length === 0 ? Infinity : this.times[0];
  }

  pop(): { time: number; item: E } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const time = this.times[0];
    const item = this.items[0];
    const last = n - 1;
    if (last > 0) this.swap(0, last);
    this.times.pop();
    this.prios.pop();
    this.seqs.pop();
    this.items.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return { time, item };
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a], tb = this.times[b];
    if (ta !== tb) return ta < tb;
    const pa = this.prios[a], pb = this.prios[b];
    if (pa !== pb) return pa < pb;
    return this.seqs[a] < this.seqs[b];
  }

  private swap(a: number, b: number): void {
    let t: number = this.times[a]; this.times[a] = this.times[b]; this.times[b] = t;
    t = this.prios[a]; this.prios[a] = this.prios[b]; this.prios[b] = t;
    t = this.seqs[a]; this.seqs[a] = this.seqs[b]; this.seqs[b] = t;
    const e = this.items[a]; this.items[a] = this.items[b]; this.items[b] = e;
  }
}
