import type { CandidateVerdict, PlacementRequest } from "../placement/types.js";
import { rngFromSeed } from "../random/rng.js";
import type { ServerTemplate } from "../spec/types.js";
import type { ClusterView } from "../placement/types.js";
import { clusterViewOf, nodeRecordsOf, placementRequestOf, releaseReplica, reserveReplica, viewOf } from "./cluster.js";
import type { Draft } from "./draft.js";
import type { NodeRecord, ReplicaPlacement, ServerRecord } from "./types.js";

// Making servers: the node-level policy (by name, from the placement registry) chooses a node
// and GPUs for each replica; each chosen replica is committed before the next is placed.

export interface ReplicasPlaced {
  readonly placements: readonly ReplicaPlacement[];
  /** Per-node verdicts of the first replica that could not be placed (or of the first replica when explaining). */
  readonly verdicts?: readonly CandidateVerdict[];
  /** The configured placement policy is not registered. */
  readonly unknownPolicy?: string;
}

/** Run the node-level policy on a view, with the snapshot's seeded Rng (its state advances). */
export const placeOnView = (draft: Draft, request: PlacementRequest, view: ClusterView, explain: boolean) => {
  const policy = draft.policies.placement(draft.config.placementPolicy);
  if (!policy) return undefined;
  const rng = rngFromSeed(draft.rngState);
  const decision = policy.place(request, view, rng, { explain });
  draft.rngState = rng.state();
  return decision;
};

/**
 * Place `count` replicas of `request` (adding to what is committed). All or nothing: when one
 * replica does not fit, the ones placed by this call are given back and the verdicts explain why.
 */
export const placeReplicas = (
  draft: Draft,
  request: PlacementRequest,
  template: ServerTemplate,
  count: number,
  allowed?: ReadonlySet<string>,
): ReplicasPlaced => {
  const placed: ReplicaPlacement[] = [];
  let firstVerdicts: readonly CandidateVerdict[] | undefined;
  // Co-location rules narrow the nodes; such a view is made afresh (the whole-cluster one is kept).
  const view = () => (allowed ? viewOf(nodeRecordsOf(draft).filter((r) => allowed.has(r.node.name))) : clusterViewOf(draft));
  for (let i = 0; i < count; i++) {
    const explainFirst = draft.config.explain && i === 0;
    const decision = placeOnView(draft, request, view(), explainFirst);
    if (!decision) return { placements: [], unknownPolicy: draft.config.placementPolicy };
    if (explainFirst) firstVerdicts = decision.verdicts;
    if (!decision.chosen) {
      // Explain the failure even when explanation is off: failures are rare and need a reason.
      const verdicts = decision.verdicts ?? placeOnView(draft, request, view(), true)?.verdicts;
      for (const replica of placed) releaseReplica(draft, replica, template.resources, template.group);
      return { placements: [], ...(verdicts ? { verdicts } : {}) };
    }
    const replica: ReplicaPlacement = { node: decision.chosen.node, gpus: decision.chosen.gpus };
    reserveReplica(draft, replica, template.resources, template.group);
    placed.push(replica);
  }
  return { placements: placed, ...(firstVerdicts ? { verdicts: firstVerdicts } : {}) };
};

export interface NewServer {
  readonly kind: "bespoke" | "pool";
  readonly owner?: string;
  readonly pool?: string;
  readonly template: ServerTemplate;
  /** GPU memory per replica reserved on the GPU (declared, or measured for the model set). */
  readonly gpuMemory: number;
  readonly replicas: number;
  /** Nodes it may use (co-location rules); undefined = any. */
  readonly allowed?: ReadonlySet<string>;
}

/** Place and create a server (Starting), emitting EnsureServer; undefined server when it does not fit. */
export const createServer = (draft: Draft, spec: NewServer): { readonly server?: ServerRecord; readonly placed: ReplicasPlaced } => {
  const id = draft.freshId("srv");
  const template: ServerTemplate =
    spec.template.resources.gpus === 0 && spec.gpuMemory !== spec.template.resources.gpuMemory
      ? { ...spec.template, resources: { ...spec.template.resources, gpuMemory: spec.gpuMemory } }
      : spec.template;
  const request = placementRequestOf(id, template.resources, template.resources.gpuMemory, template.group);
  const placed = placeReplicas(draft, request, template, Math.max(1, spec.replicas), spec.allowed);
  if (placed.placements.length === 0) return { placed };
  const first = placed.placements[0]!;
  const server: ServerRecord = {
    id,
    kind: spec.kind,
    ...(spec.owner !== undefined ? { owner: spec.owner } : {}),
    ...(spec.pool !== undefined ? { pool: spec.pool } : {}),
    group: template.group,
    template,
    capacity: capacityOf(template, draft.nodes.get(first.node), first),
    state: "Starting",
    replicas: placed.placements,
    readyReplicas: 0,
    leases: [],
    createdAt: draft.now,
  };
  draft.servers.set(id, server);
  draft.emit({
    _tag: "EnsureServer",
    serverId: id,
    node: first.node,
    gpus: first.gpus,
    template,
    replicas: placed.placements.length,
    placements: placed.placements,
    ...(spec.pool !== undefined ? { pool: spec.pool } : {}),
    ...(spec.owner !== undefined ? { owner: spec.owner } : {}),
  });
  return { server, placed };
};

/**
 * GPU memory a replica offers to leases: the declared figure, or for whole GPUs with none
 * declared, the memory of the GPUs it got.
 */
const capacityOf = (template: ServerTemplate, node: NodeRecord | undefined, replica: ReplicaPlacement): number => {
  if (template.resources.gpuMemory > 0 || template.resources.gpus === 0) return template.resources.gpuMemory;
  return replica.gpus.reduce((sum, a) => sum + (node?.node.gpus[a.index]?.memory ?? a.memory), 0);
};
