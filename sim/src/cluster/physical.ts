import type { ClusterNode } from "@berth/core/cluster/types";
import type { ReplicaPlacement } from "@berth/core/decide/types";
import type { Resources } from "@berth/core/spec/types";

/** One replica as it physically runs: where, with what, for which group. */
export interface RunningReplica {
  readonly serverId: string;
  readonly group: string;
  readonly placement: ReplicaPlacement;
  readonly resources: Resources;
}

export interface OverCommit {
  readonly node: string;
  readonly what: "cpu" | "memory" | "gpu-milli" | "gpu-memory";
  readonly gpu?: number;
  readonly used: number;
  readonly capacity: number;
}

export interface MixedGroups {
  readonly node: string;
  readonly gpu: number;
  readonly groups: readonly string[];
}

/**
 * The physical truth of the simulated cluster: which replicas hold room on which node and
 * GPU. Kept apart from decide's snapshot on purpose: the invariants compare what the policy
 * believes with what the machines would really carry.
 */
export class PhysicalCluster {
  readonly nodes = new Map<string, ClusterNode>();
  private readonly replicas = new Map<string, RunningReplica[]>();

  constructor(nodes: readonly ClusterNode[]) {
    for (const n of nodes) {
      this.nodes.set(n.name, n);
      this.replicas.set(n.name, []);
    }
  }

  setNodeState(name: string, state: ClusterNode["state"]): ClusterNode | undefined {
    const n = this.nodes.get(name);
    if (!n) return undefined;
    const next = { ...n, state };
    this.nodes.set(name, next);
    return next;
  }

  /** Takes room for one replica; returns false for an unknown node (the backend rejects it). */
  take(replica: RunningReplica): boolean {
    const list = this.replicas.get(replica.placement.node);
    if (!list) return false;
    list.push(replica);
    return true;
  }

  /** Gives back the room of one replica of `serverId` on `node` (idempotent). */
  give(serverId: string, placement: ReplicaPlacement): void {
    const list = this.replicas.get(placement.node);
    if (!list) return;
    const i = list.findIndex((r) => r.serverId === serverId && r.placement === placement);
    if (i >= 0) list.splice(i, 1);
  }

  /** Replicas on a node (for node loss). */
  on(node: string): readonly RunningReplica[] {
    return this.replicas.get(node) ?? [];
  }

  /** Allocated milli-GPU and GPU memory across the cluster (for allocation-over-time charts). */
  gpuAllocated(): { readonly milli: number; readonly memory: number } {
    let milli = 0, memory = 0;
    for (const list of this.replicas.values()) {
      for (const r of list) for (const g of r.placement.gpus) { milli += g.milli; memory += g.memory; }
    }
    return { milli, memory };
  }

  /** Every resource used beyond its node's capacity (empty when the invariant holds). */
  overCommits(): OverCommit[] {
    const out: OverCommit[] = [];
    for (const [name, list] of this.replicas) {
      const node = this.nodes.get(name)!;
      let cpu = 0, memory = 0;
      const milli = new Array<number>(node.gpus.length).fill(0);
      const gmem = new Array<number>(node.gpus.length).fill(0);
      for (const r of list) {
        cpu += r.resources.cpu;
        memory += r.resources.memory;
        for (const g of r.placement.gpus) {
          if (g.index >= node.gpus.length) out.push({ node: name, what: "gpu-milli", gpu: g.index, used: g.milli, capacity: 0 });
          else { milli[g.index] += g.milli; gmem[g.index] += g.memory; }
        }
      }
      if (cpu > node.cpu) out.push({ node: name, what: "cpu", used: cpu, capacity: node.cpu });
      if (memory > node.memory) out.push({ node: name, what: "memory", used: memory, capacity: node.memory });
      node.gpus.forEach((g, i) => {
        if (milli[i] > 1000) out.push({ node: name, what: "gpu-milli", gpu: i, used: milli[i], capacity: 1000 });
        if (gmem[i] > g.memory) out.push({ node: name, what: "gpu-memory", gpu: i, used: gmem[i], capacity: g.memory });
      });
    }
    return out;
  }

  /** GPUs that host replicas of more than one group (empty when the invariant holds). */
  mixedGroups(): MixedGroups[] {
    const out: MixedGroups[] = [];
    for (const [name, list] of this.replicas) {
      const byGpu = new Map<number, Set<string>>();
      for (const r of list) for (const g of r.placement.gpus) {
        const set = byGpu.get(g.index) ?? new Set<string>();
        set.add(r.group);
        byGpu.set(g.index, set);
      }
      for (const [gpu, groups] of byGpu) if (groups.size > 1) out.push({ node: name, gpu, groups: [...groups].sort() });
    }
    return out;
  }
}
