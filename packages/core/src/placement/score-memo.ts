// Verdicts and scores remembered across placements. A node's verdict and score for a request
// depend only on the node's state and the request's shape (its numbers, models and group), and
// between two placements only the chosen node changes state, so most (state, shape) pairs come
// back again and again. A slot is stale when its state id was given to another state since
// (the index's generation tells); the memo is cleared when it grows past its limit.
import type { ClusterIndex } from "./cluster-index.js";
import type { GpuAttributes } from "./gpu-select.js";
import type { CompiledRequest } from "./request.js";

const SLOT_LIMIT = 1 << 18;
const SHAPE_LIMIT = 1 << 12;

export class ScoreMemo {
  private index: ClusterIndex | undefined;
  private readonly shapes = new Map<string, number>();
  /** Per shape, per state id: slot + 1 (0 = none). */
  private byShape: Int32Array[] = [];
  private used = 0;
  private gen = new Uint32Array(1024);
  fits = new Uint8Array(1024);
  score = new Float64Array(1024);
  /** The GPU the scorer chose for a share, by attributes; hasGpu 0 when it chose none. */
  hasGpu = new Uint8Array(1024);
  model = new Int32Array(1024);
  memCap = new Float64Array(1024);
  milliUsed = new Float64Array(1024);
  memUsed = new Float64Array(1024);
  group = new Int32Array(1024);

  /** Starts a placement: returns the request's shape id. */
  begin(ix: ClusterIndex, r: CompiledRequest): number {
    if (this.index !== ix || this.used >= SLOT_LIMIT || this.shapes.size >= SHAPE_LIMIT) {
      this.index = ix;
      this.shapes.clear();
      this.byShape = [];
      this.used = 0;
    }
    const models = r.models === undefined ? "" : r.models.join("");
    const key = `${r.cpu}|${r.memory}|${r.gpuKind}|${r.milli}|${r.gpuMemory}|${r.count}|${models}|${r.group}`;
    let id = this.shapes.get(key);
    if (id === undefined) {
      id = this.shapes.size;
      this.shapes.set(key, id);
      this.byShape.push(new Int32Array(ix.stateCapacity));
    }
    return id;
  }

  /** The slot of (state, shape) when it holds a current result, else -1. */
  find(ix: ClusterIndex, state: number, shape: number): number {
    const slots = this.byShape[shape];
    const slot = state < slots.length ? slots[state] - 1 : -1;
    return slot >= 0 && this.gen[slot] === ix.stateGen[state] ? slot : -1;
  }

  /** A slot for (state, shape) to write a fresh result into. */
  claim(ix: ClusterIndex, state: number, shape: number): number {
    let slots = this.byShape[shape];
    if (state >= slots.length) {
      const grown = new Int32Array(Math.max(ix.stateCapacity, state + 1));
      grown.set(slots);
      this.byShape[shape] = slots = grown;
    }
    let slot = slots[state] - 1;
    if (slot < 0) {
      slot = this.used++;
      if (slot >= this.gen.length) this.grow();
      slots[state] = slot + 1;
    }
    this.gen[slot] = ix.stateGen[state];
    return slot;
  }

  setGpu(slot: number, a: GpuAttributes | undefined): void {
    if (a === undefined) {
      this.hasGpu[slot] = 0;
      return;
    }
    this.hasGpu[slot] = 1;
    this.model[slot] = a.model;
    this.memCap[slot] = a.memCap;
    this.milliUsed[slot] = a.milliUsed;
    this.memUsed[slot] = a.memUsed;
    this.group[slot] = a.group;
  }

  gpuOf(slot: number, out: GpuAttributes): boolean {
    if (this.hasGpu[slot] === 0) return false;
    out.model = this.model[slot];
    out.memCap = this.memCap[slot];
    out.milliUsed = this.milliUsed[slot];
    out.memUsed = this.memUsed[slot];
    out.group = this.group[slot];
    return true;
  }

  private grow(): void {
    const n = this.gen.length * 2;
    const g = <T extends Uint32Array | Uint8Array | Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.gen = g(this.gen, (k) => new Uint32Array(k));
    this.fits = g(this.fits, (k) => new Uint8Array(k));
    this.score = g(this.score, (k) => new Float64Array(k));
    this.hasGpu = g(this.hasGpu, (k) => new Uint8Array(k));
    this.model = g(this.model, (k) => new Int32Array(k));
    this.memCap = g(this.memCap, (k) => new Float64Array(k));
    this.milliUsed = g(this.milliUsed, (k) => new Float64Array(k));
    this.memUsed = g(this.memUsed, (k) => new Float64Array(k));
    this.group = g(this.group, (k) => new Int32Array(k));
  }
}
