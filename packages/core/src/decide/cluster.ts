import type { ClusterNode, GpuUse, NodeUse } from "../cluster/types.js";
import type { ClusterView, GpuDemand, PlacementRequest } from "../placement/types.js";
import type { Resources } from "../spec/types.js";
import type { Draft } from "./draft.js";
import type { NodeRecord, ReplicaPlacement, ServerRecord } from "./types.js";

// Node accounting: what Berth's servers commit on each node, kept in the snapshot so the
// node-level policy sees it as a ClusterView. Every replica reserves its cpu, memory and
// GPU assignments when it is placed and gives them back when it goes.

export const emptyUse = (node: ClusterNode): NodeUse => ({ cpu: 0, memory: 0, gpus: node.gpus.map(() => ({ milli: 0, memory: 0 })) });

export const nodeRecord = (node: ClusterNode): NodeRecord => ({ node, use: emptyUse(node), gpuGroups: node.gpus.map(() => null) });

/** A newly observed version of a node, keeping what is committed on it. */
export const observeNode = (previous: NodeRecord | undefined, node: ClusterNode): NodeRecord => {
  if (!previous) return nodeRecord(node);
  const gpus: GpuUse[] = node.gpus.map((_, g) => previous.use.gpus[g] ?? { milli: 0, memory: 0 });
  return {
    node,
    use: { cpu: previous.use.cpu, memory: previous.use.memory, gpus },
    gpuGroups: node.gpus.map((_, g) => previous.gpuGroups[g] ?? null),
  };
};

/** The GPU demand of one server replica. `gpuMemory` is the memory figure to reserve (declared or measured). */
export const gpuDemandOf = (resources: Resources, gpuMemory: number): GpuDemand =>
  resources.gpus > 0
    ? { kind: "whole", count: resources.gpus }
    : resources.gpuMilli > 0 || gpuMemory > 0
      ? { kind: "share", milli: resources.gpuMilli, memory: gpuMemory }
      : { kind: "none" };

export const placementRequestOf = (id: string, resources: Resources, gpuMemory: number, group: string): PlacementRequest => ({
  id,
  cpu: resources.cpu,
  memory: resources.memory,
  gpu: gpuDemandOf(resources, gpuMemory),
  gpuModels: resources.gpuModels,
  group,
});

const applyReplica = (record: NodeRecord, replica: ReplicaPlacement, resources: Resources, group: string, sign: 1 | -1): NodeRecord => {
  const gpus = record.use.gpus.slice();
  const gpuGroups = record.gpuGroups.slice();
  for (const a of replica.gpus) {
    const before = gpus[a.index] ?? { milli: 0, memory: 0 };
    const after = { milli: Math.max(0, before.milli + sign * a.milli), memory: Math.max(0, before.memory + sign * a.memory) };
    gpus[a.index] = after;
    // A GPU keeps its group while anything is committed on it: groups never mix on a GPU.
    gpuGroups[a.index] = sign > 0 ? group : after.milli === 0 && after.memory === 0 ? null : (gpuGroups[a.index] ?? null);
  }
  return {
    node: record.node,
    use: {
      cpu: Math.max(0, record.use.cpu + sign * resources.cpu),
      memory: Math.max(0, record.use.memory + sign * resources.memory),
      gpus,
    },
    gpuGroups,
  };
};

/** Commit one replica of a server with `resources` on its node. */
export const reserveReplica = (draft: Draft, replica: ReplicaPlacement, resources: Resources, group: string): void => {
  const record = draft.nodes.get(replica.node);
  if (record) draft.nodes.set(replica.node, applyReplica(record, replica, resources, group, 1));
};

/** Give back one replica's commitment (a node that is gone has nothing to give back). */
export const releaseReplica = (draft: Draft, replica: ReplicaPlacement, resources: Resources, group: string): void => {
  const record = draft.nodes.get(replica.node);
  if (record) draft.nodes.set(replica.node, applyReplica(record, replica, resources, group, -1));
};

export const releaseServer = (draft: Draft, server: ServerRecord): void => {
  for (const replica of server.replicas) releaseReplica(draft, replica, server.template.resources, server.group);
};

// The view says "no group" with undefined; the snapshot with null (JSON). The converted array
// is memoised per stored array because placement policies refresh a node only when its
// objects change identity.
const viewGroups = new WeakMap<readonly (string | null)[], readonly (string | undefined)[]>();
const groupsForView = (groups: readonly (string | null)[]): readonly (string | undefined)[] => {
  let out = viewGroups.get(groups);
  if (!out) {
    out = groups.map((g) => g ?? undefined);
    viewGroups.set(groups, out);
  }
  return out;
};

/** A read-only view over some records (node-name order, so indices are stable). */
export const viewOf = (records: readonly NodeRecord[]): ClusterView => ({
  nodes: records.map((r) => r.node),
  use: records.map((r) => r.use),
  gpuGroups: records.map((r) => groupsForView(r.gpuGroups)),
});

interface LiveView {
  readonly nodes: ClusterNode[];
  readonly use: NodeUse[];
  readonly gpuGroups: (readonly (string | undefined)[])[];
}

// Placement policies keep their per-node caches keyed by the view object and refresh a node
// only when its objects change identity. One view object per policy resolver (per run),
// rewritten in place before each use, lets those caches live across placements and steps.
const liveViews = new WeakMap<object, LiveView>();

/** The draft's whole cluster as a view (node-name order). */
export const clusterViewOf = (draft: Draft): ClusterView => {
  const records = nodeRecordsOf(draft);
  let view = liveViews.get(draft.policies);
  if (!view || view.nodes.length !== records.length) {
    view = { nodes: [], use: [], gpuGroups: [] };
    liveViews.set(draft.policies, view);
  }
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    view.nodes[i] = r.node;
    view.use[i] = r.use;
    view.gpuGroups[i] = groupsForView(r.gpuGroups);
  }
  return view;
};

/** The draft's nodes, by name. */
export const nodeRecordsOf = (draft: Draft): NodeRecord[] => draft.nodes.keys().map((name) => draft.nodes.get(name)!);

/** The free GPU memory of a node, over all its GPUs. */
export const freeGpuMemory = (record: NodeRecord): number =>
  record.node.gpus.reduce((sum, gpu, g) => sum + Math.max(0, gpu.memory - (record.use.gpus[g]?.memory ?? 0)), 0);

/** The GPU memory of all the draft's nodes: what the leases share (the keep-alive policy's budget). */
export const fleetGpuMemory = (draft: Draft): number => {
  let total = 0;
  for (const record of nodeRecordsOf(draft)) for (const gpu of record.node.gpus) total += gpu.memory;
  return total;
};
