// A flat, typed-array mirror of a ClusterView that the policies evaluate on. It is kept in step
// with the view by object identity: a view replaces `use[i]` (and `gpuGroups[i]`,
// `shapeCounts[i]`) whenever node i changes, so one pointer comparison per node per placement
// finds what to refresh. Nodes whose whole state is equal share a state id, so a policy
// evaluates each distinct node state once per placement instead of once per node.
import type { ClusterNode, NodeUse } from "../cluster/types.js";
import { MILLI_PER_GPU } from "../units.js";
import type { ClusterView } from "./types.js";

export const NODE_READY = 0;
export const NODE_NOT_READY = 1;
export const NODE_CORDONED = 2;

const stateCode = (s: ClusterNode["state"]): number =>
  s === "Ready" ? NODE_READY : s === "NotReady" ? NODE_NOT_READY : NODE_CORDONED;

/** Tag of a GPU demand as GpuClustering counts it: `share`, or `k-gpu` for k whole GPUs. */
export const SHARE_TAG = "share";
export const shapeTag = (gpu: { readonly kind: string; readonly count?: number }): string | undefined =>
  gpu.kind === "share" ? SHARE_TAG : gpu.kind === "whole" ? `${gpu.count ?? 0}-gpu` : undefined;

type ShapeCounts = Readonly<Record<string, number>>;

export class ClusterIndex {
  readonly nodeCount: number;
  readonly gpuCount: number;
  /** GPUs of node i are gpuStart[i] .. gpuStart[i+1]-1. */
  readonly gpuStart: Int32Array;
  readonly cpuCap: Float64Array;
  readonly memCap: Float64Array;
  readonly cpuUsed: Float64Array;
  readonly memUsed: Float64Array;
  readonly nodeState: Uint8Array;
  readonly gpuModel: Int32Array;
  readonly gpuMemCap: Float64Array;
  readonly gpuMilliUsed: Float64Array;
  readonly gpuMemUsed: Float64Array;
  /** Group id per GPU, -1 when the GPU hosts no group. */
  readonly gpuGroup: Int32Array;
  /** Number of distinct GPU shape tags hosted on each node (GpuClustering). */
  readonly shapeKinds: Int32Array;
  /** Per node, the tags hosted (GpuClustering); an empty object when none. */
  readonly shapes: ShapeCounts[];
  /** Id of each node's whole state: equal ids, equal verdicts and scores for any request. */
  readonly stateId: Int32Array;
  /** Incremented whenever a state id is given to a new state, so caches by id can tell. */
  stateGen: Uint32Array;
  readonly modelIds = new Map<string, number>();
  readonly groupIds = new Map<string, number>();
  private readonly stateIds = new Map<string, number>();
  private stateRefs: Int32Array;
  private readonly freeStates: number[] = [];
  private stateKeys: string[] = [];
  private nextState = 0;
  private readonly lastNode: (ClusterNode | undefined)[];
  private readonly lastUse: (NodeUse | undefined)[];
  private readonly lastGroups: unknown[];
  private readonly lastShapes: unknown[];
  /** The view's change count at the last sync (-1: compare every node next time). */
  private changesSeen = -1;

  constructor(nodes: readonly ClusterNode[]) {
    const n = nodes.length;
    this.nodeCount = n;
    this.gpuStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.gpuStart[i + 1] = this.gpuStart[i] + nodes[i].gpus.length;
    const g = this.gpuStart[n];
    this.gpuCount = g;
    this.cpuCap = new Float64Array(n);
    this.memCap = new Float64Array(n);
    this.cpuUsed = new Float64Array(n);
    this.memUsed = new Float64Array(n);
    this.nodeState = new Uint8Array(n);
    this.gpuModel = new Int32Array(g);
    this.gpuMemCap = new Float64Array(g);
    this.gpuMilliUsed = new Float64Array(g);
    this.gpuMemUsed = new Float64Array(g);
    this.gpuGroup = new Int32Array(g).fill(-1);
    this.shapeKinds = new Int32Array(n);
    this.shapes = new Array<ShapeCounts>(n).fill({});
    this.stateId = new Int32Array(n).fill(-1);
    this.stateRefs = new Int32Array(Math.max(16, n));
    this.stateGen = new Uint32Array(Math.max(16, n));
    this.lastNode = new Array<ClusterNode | undefined>(n);
    this.lastUse = new Array<NodeUse | undefined>(n);
    this.lastGroups = new Array<unknown>(n);
    this.lastShapes = new Array<unknown>(n);
  }

  /** Upper bound (exclusive) of the state ids in use: size per-state scratch arrays by it. */
  get stateCapacity(): number {
    return this.stateRefs.length;
  }

  modelId(model: string): number {
    let id = this.modelIds.get(model);
    if (id === undefined) {
      id = this.modelIds.size;
      this.modelIds.set(model, id);
    }
    return id;
  }

  groupId(group: string | undefined): number {
    if (group === undefined) return -1;
    let id = this.groupIds.get(group);
    if (id === undefined) {
      id = this.groupIds.size;
      this.groupIds.set(group, id);
    }
    return id;
  }

  /**
   * Brings the index in step with the view; cost is one comparison per unchanged node. False
   * when a node's GPU count changed: the flat layout no longer fits, build a new index.
   */
  sync(view: ClusterView): boolean {
    const changes = view.changes;
    if (changes !== undefined && this.changesSeen >= changes.first && this.changesSeen <= changes.count) {
      // Only the nodes the view says changed (a node changed twice is refreshed once: the second compares equal).
      const upTo = changes.count;
      for (let k = this.changesSeen; k < upTo; k++) if (!this.syncNode(view, changes.node(k))) return false;
      this.changesSeen = upTo;
      return true;
    }
    for (let i = 0; i < this.nodeCount; i++) if (!this.syncNode(view, i)) return false;
    this.changesSeen = changes === undefined ? -1 : changes.count;
    return true;
  }

  private syncNode(view: ClusterView, i: number): boolean {
    const node = view.nodes[i];
    const u = view.use[i];
    const gr = view.gpuGroups?.[i];
    const sh = view.shapeCounts?.[i];
    if (node !== this.lastNode[i] || u !== this.lastUse[i] || gr !== this.lastGroups[i] || sh !== this.lastShapes[i]) {
      if (node.gpus.length !== this.gpuStart[i + 1] - this.gpuStart[i]) return false;
      this.refresh(i, node, u, gr, sh);
    }
    return true;
  }

  private refresh(
    i: number,
    node: ClusterNode,
    use: NodeUse | undefined,
    groups: readonly (string | undefined)[] | undefined,
    shapes: ShapeCounts | undefined,
  ): void {
    this.lastNode[i] = node;
    this.lastUse[i] = use;
    this.lastGroups[i] = groups;
    this.lastShapes[i] = shapes;
    this.cpuCap[i] = node.cpu;
    this.memCap[i] = node.memory;
    this.cpuUsed[i] = use?.cpu ?? 0;
    this.memUsed[i] = use?.memory ?? 0;
    this.nodeState[i] = stateCode(node.state);
    const start = this.gpuStart[i];
    const gpuKeys: string[] = [];
    for (let j = 0; j < node.gpus.length; j++) {
      const g = start + j;
      const gpu = node.gpus[j];
      this.gpuModel[g] = this.modelId(gpu.model);
      this.gpuMemCap[g] = gpu.memory;
      this.gpuMilliUsed[g] = use?.gpus[j]?.milli ?? 0;
      this.gpuMemUsed[g] = use?.gpus[j]?.memory ?? 0;
      this.gpuGroup[g] = this.groupId(groups?.[j]);
      gpuKeys.push(`${this.gpuModel[g]}:${gpu.memory}:${this.gpuMilliUsed[g]}:${this.gpuMemUsed[g]}:${this.gpuGroup[g]}`);
    }
    const shapeCounts = shapes ?? inferShapes(node, use);
    this.shapes[i] = shapeCounts;
    let kinds = 0;
    const tags: string[] = [];
    for (const tag in shapeCounts) {
      if (shapeCounts[tag] > 0) {
        kinds += 1;
        tags.push(tag);
      }
    }
    this.shapeKinds[i] = kinds;
    gpuKeys.sort();
    tags.sort();
    const key = `${this.nodeState[i]}|${node.cpu}|${node.memory}|${this.cpuUsed[i]}|${this.memUsed[i]}|${gpuKeys.join(",")}|${tags.join(",")}`;
    this.setState(i, key);
  }

  private setState(i: number, key: string): void {
    const old = this.stateId[i];
    let id = this.stateIds.get(key);
    if (id === old && id !== undefined) return;
    if (id === undefined) {
      id = this.freeStates.pop() ?? this.nextState++;
      if (id >= this.stateRefs.length) this.grow(id + 1);
      this.stateIds.set(key, id);
      this.stateKeys[id] = key;
      this.stateGen[id] += 1;
    }
    this.stateRefs[id] += 1;
    this.stateId[i] = id;
    if (old >= 0) {
      this.stateRefs[old] -= 1;
      if (this.stateRefs[old] === 0) {
        this.stateIds.delete(this.stateKeys[old]);
        this.freeStates.push(old);
      }
    }
  }

  private grow(min: number): void {
    const size = Math.max(min, this.stateRefs.length * 2);
    const refs = new Int32Array(size);
    refs.set(this.stateRefs);
    this.stateRefs = refs;
    const gen = new Uint32Array(size);
    gen.set(this.stateGen);
    this.stateGen = gen;
  }

  /** Free milli-GPU of GPU g (flat index). */
  gpuFree(g: number): number {
    return MILLI_PER_GPU - this.gpuMilliUsed[g];
  }
}

/** Without recorded shapes: a partly used GPU means a share; each fully used GPU counts as `1-gpu`. */
const inferShapes = (node: ClusterNode, use: NodeUse | undefined): ShapeCounts => {
  if (use === undefined) return {};
  let share = 0;
  let whole = 0;
  for (let j = 0; j < node.gpus.length; j++) {
    const m = use.gpus[j]?.milli ?? 0;
    if (m > 0 && m < MILLI_PER_GPU) share += 1;
    else if (m >= MILLI_PER_GPU) whole += 1;
  }
  const out: Record<string, number> = {};
  if (share > 0) out[SHARE_TAG] = share;
  if (whole > 0) out["1-gpu"] = whole;
  return out;
};

const indexes = new WeakMap<ClusterView, ClusterIndex>();

/** The index of a view, created on first use and synced on every call. */
export const indexFor = (view: ClusterView): ClusterIndex => {
  let ix = indexes.get(view);
  if (ix === undefined || ix.nodeCount !== view.nodes.length || !ix.sync(view)) {
    ix = new ClusterIndex(view.nodes);
    indexes.set(view, ix);
    ix.sync(view);
  }
  return ix;
};
