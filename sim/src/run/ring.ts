/** Keeps the last `capacity` items pushed (a run's trace must stay bounded however long it runs). */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;
  private dropped = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.capacity <= 0) { this.dropped++; return; }
    if (this.items.length < this.capacity) { this.items.push(item); return; }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
    this.dropped++;
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  /** How many items fell off the front. */
  get droppedCount(): number {
    return this.dropped;
  }
}
