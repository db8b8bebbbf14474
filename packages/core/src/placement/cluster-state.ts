// A mutable cluster for simulations and what-if placement: assign (reserve) and unassign
// (unreserve, idempotent) placements. It is a ClusterView whose per-node objects (`use[i]`,
// `gpuGroups[i]`, `shapeCounts[i]`) are replaced whenever node i changes, so policies refresh
// only what changed. Every assignment is checked: capacity is never over-committed, GPU models
// are respected, and groups are never mixed on a GPU.
import type { ClusterNode, GpuAssignment, GpuUse, NodeUse } from "../cluster/types.js";
import { MILLI_PER_GPU } from "../units.js";
import { shapeTag } from "./cluster-index.js";
import type { ClusterView, PlacementChoice, PlacementRequest, ViewChanges } from "./types.js";

export class AssignmentError extends Error {
  override readonly name = "AssignmentError";
}

/** Handle of an assignment, for unassign. */
export type AssignmentId = number;

interface Placed {
  readonly node: number;
  readonly cpu: number;
  readonly memory: number;
  readonly gpus: readonly GpuAssignment[];
  readonly group: string | undefined;
  readonly tag: string | undefined;
}

const emptyUse = (node: ClusterNode): NodeUse => ({
  cpu: 0,
  memory: 0,
  gpus: node.gpus.map((): GpuUse => ({ milli: 0, memory: 0 })),
});

/** Changed nodes, in order; the older half is dropped when it grows past a few times the node count. */
class ChangeLog implements ViewChanges {
  private log: number[] = [];
  first = 0;
  constructor(private readonly keep: number) {}
  get count(): number {
    return this.first + this.log.length;
  }
  node(k: number): number {
    return this.log[k - this.first];
  }
  record(node: number): void {
    this.log.push(node);
    if (this.log.length > 2 * this.keep) {
      const drop = this.log.length - this.keep;
      this.log = this.log.slice(drop);
      this.first += drop;
    }
  }
}

export class ClusterState implements ClusterView {
  readonly nodes: readonly ClusterNode[];
  readonly use: NodeUse[];
  readonly gpuGroups: (readonly (string | undefined)[])[];
  readonly shapeCounts: Readonly<Record<string, number>>[];
  /** Every node `apply` changed (change `use`, `gpuGroups` and `shapeCounts` only through assign and unassign). */
  readonly changes: ChangeLog;
  /** Placements holding each GPU: a GPU's group is cleared when the last one leaves. */
  private readonly holders: Int32Array[];
  private readonly placed = new Map<AssignmentId, Placed>();
  private nextId = 1;
  private allocated = 0;
  readonly capacityGpuMilli: number;

  constructor(nodes: readonly ClusterNode[]) {
    this.nodes = nodes;
    this.use = nodes.map(emptyUse);
    this.gpuGroups = nodes.map((n) => n.gpus.map(() => undefined));
    this.shapeCounts = nodes.map(() => ({}));
    this.holders = nodes.map((n) => new Int32Array(n.gpus.length));
    this.capacityGpuMilli = nodes.reduce((s, n) => s + n.gpus.length * MILLI_PER_GPU, 0);
    this.changes = new ChangeLog(4 * nodes.length + 1024);
  }

  /** Milli-GPU committed over the cluster. */
  get allocatedGpuMilli(): number {
    return this.allocated;
  }

  /** Number of live assignments. */
  get size(): number {
    return this.placed.size;
  }

  /** An independent copy for what-if placement: assign and unassign on it leave this one alone. */
  clone(): ClusterState {
    const c = new ClusterState(this.nodes);
    for (let i = 0; i < this.nodes.length; i++) {
      c.use[i] = this.use[i];
      c.gpuGroups[i] = this.gpuGroups[i];
      c.shapeCounts[i] = this.shapeCounts[i];
      c.holders[i].set(this.holders[i]);
    }
    for (const [id, p] of this.placed) c.placed.set(id, p);
    c.nextId = this.nextId;
    c.allocated = this.allocated;
    return c;
  }

  /** Why `choice` cannot be assigned now, or undefined when it can. */
  check(request: PlacementRequest, choice: PlacementChoice): string | undefined {
    const i = choice.nodeIndex;
    const node = this.nodes[i];
    if (node === undefined) return `no node ${i}`;
    const use = this.use[i];
    if (use.cpu + request.cpu > node.cpu) return "cpu over capacity";
    if (use.memory + request.memory > node.memory) return "memory over capacity";
    const gpu = request.gpu;
    const want = gpu.kind === "none" ? 0 : gpu.kind === "share" ? 1 : gpu.count;
    if (choice.gpus.length !== want) return `expected ${want} GPU assignment(s), got ${choice.gpus.length}`;
    const seen = new Set<number>();
    for (const a of choice.gpus) {
      const g = node.gpus[a.index];
      if (g === undefined) return `no GPU ${a.index}`;
      if (seen.has(a.index)) return `GPU ${a.index} assigned twice`;
      seen.add(a.index);
      if (request.gpuModels !== undefined && request.gpuModels.length > 0 && !request.gpuModels.includes(g.model)) {
        return `GPU ${a.index} is a ${g.model}`;
      }
      const held = this.gpuGroups[i][a.index];
      if (request.group !== undefined && held !== undefined && held !== request.group) return `GPU ${a.index} hosts group ${held}`;
      const u = use.gpus[a.index];
      if (gpu.kind === "whole") {
        if (u.milli !== 0 || u.memory !== 0) return `GPU ${a.index} is not free`;
        if (a.milli !== MILLI_PER_GPU) return `whole GPU ${a.index} assigned ${a.milli} milli`;
      } else if (gpu.kind === "share" && (a.milli !== gpu.milli || a.memory !== gpu.memory)) {
        return `GPU ${a.index} assignment differs from the request`;
      }
      if (u.milli + a.milli > MILLI_PER_GPU) return `GPU ${a.index} over capacity`;
      if (u.memory + a.memory > g.memory) return `GPU ${a.index} memory over capacity`;
    }
    return undefined;
  }

  /** Reserves the choice; throws AssignmentError when it does not fit (a policy bug). */
  assign(request: PlacementRequest, choice: PlacementChoice): AssignmentId {
    const why = this.check(request, choice);
    if (why !== undefined) throw new AssignmentError(`${request.id} on ${this.nodes[choice.nodeIndex]?.name ?? choice.nodeIndex}: ${why}`);
    const p: Placed = {
      node: choice.nodeIndex,
      cpu: request.cpu,
      memory: request.memory,
      gpus: choice.gpus,
      group: request.group,
      tag: shapeTag(request.gpu),
    };
    this.apply(p, 1);
    const id = this.nextId++;
    this.placed.set(id, p);
    return id;
  }

  /** Undoes an assignment; false when it was already undone (idempotent). */
  unassign(id: AssignmentId): boolean {
    const p = this.placed.get(id);
    if (p === undefined) return false;
    this.placed.delete(id);
    this.apply(p, -1);
    return true;
  }

  private apply(p: Placed, sign: 1 | -1): void {
    const i = p.node;
    this.changes.record(i);
    const use = this.use[i];
    const gpus = use.gpus.slice();
    const holders = this.holders[i];
    let groups: (string | undefined)[] | undefined;
    for (const a of p.gpus) {
      const u = gpus[a.index];
      gpus[a.index] = { milli: u.milli + sign * a.milli, memory: u.memory + sign * a.memory };
      holders[a.index] += sign;
      this.allocated += sign * a.milli;
      const held = this.gpuGroups[i][a.index];
      const next = holders[a.index] === 0 ? undefined : (held ?? p.group);
      if (next !== held) {
        groups ??= this.gpuGroups[i].slice();
        groups[a.index] = next;
      }
    }
    this.use[i] = { cpu: use.cpu + sign * p.cpu, memory: use.memory + sign * p.memory, gpus };
    if (groups !== undefined) this.gpuGroups[i] = groups;
    if (p.tag !== undefined) {
      const counts = { ...this.shapeCounts[i] };
      const c = (counts[p.tag] ?? 0) + sign;
      if (c === 0) delete counts[p.tag];
      else counts[p.tag] = c;
      this.shapeCounts[i] = counts;
    }
  }
}
