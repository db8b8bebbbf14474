import type { EvictionCandidate, EvictionDecision } from "../eviction/types.js";
import type { LeaseRecord } from "../lease/types.js";
import type { ClusterView, PlacementRequest } from "../placement/types.js";
import { freeGpuMemory, nodeRecordsOf, viewOf } from "./cluster.js";
import type { Draft } from "./draft.js";
import { endLease } from "./lifecycle.js";
import { noteWarmEviction } from "./pressure.js";
import { placeOnView } from "./servers.js";
import type { NodeRecord, ServerRecord } from "./types.js";
import { evictionCandidateOf } from "./views.js";

// Eviction makes room for a lease that fits nowhere: only expired (Expiring, kept warm)
// leases are candidates, and the eviction policy (by name) picks among them by cost. A
// candidate set is tried on a what-if copy first, so nothing is evicted for no gain.

export interface EvictionOutcome {
  readonly decision?: EvictionDecision;
  /** Where the room was made: a server id (pool instance) or a node name. */
  readonly target?: string;
}

/** Evict the decision's victims, each with its own explained record (`berth lease explain VICTIM`). */
const evictVictims = (draft: Draft, decision: EvictionDecision, forLease: string): void => {
  for (const id of decision.victims) {
    const lease = draft.leases.get(id);
    if (!lease || lease.phase !== "Expiring") continue;
    draft.record({
      kind: "Eviction",
      leaseId: id,
      leaseName: lease.spec.name,
      policy: decision.policy,
      outcome: "Evicted",
      ...(lease.placement ? { serverId: lease.placement.serverId } : {}),
      evictionVerdicts: decision.verdicts,
      victims: decision.victims,
      beneficiary: forLease,
    });
    noteWarmEviction(draft, lease);
    endLease(draft, lease, "Released", "Evicted");
  }
};

const choose = (draft: Draft, candidates: readonly EvictionCandidate[], need: number): EvictionDecision | undefined =>
  draft.policies.eviction(draft.config.evictionPolicy)?.choose(candidates, need, draft.now);

const warmOn = (draft: Draft, serverId: string): LeaseRecord[] => draft.leasesOn(serverId).filter((l) => l.phase === "Expiring");

/**
 * Make room on one of `servers` (pool instances the lease may join but for memory): evict
 * warm leases there until the lease's memory fits. Returns the server made room on.
 */
export const evictOnServers = (
  draft: Draft,
  lease: LeaseRecord,
  servers: readonly ServerRecord[],
  fitsWithout: (server: ServerRecord, without: ReadonlySet<string>) => boolean,
): EvictionOutcome => {
  let last: EvictionDecision | undefined;
  for (const server of servers) {
    const warm = warmOn(draft, server.id);
    if (warm.length === 0 || !fitsWithout(server, new Set(warm.map((l) => l.id)))) continue;
    const used = draft.leasesOn(server.id).reduce((sum, l) => sum + l.memory, 0);
    const need = lease.memory - (server.capacity - used);
    const decision = choose(
      draft,
      warm.map((l) => evictionCandidateOf(draft, l, server.id, l.memory)),
      need,
    );
    if (!decision) return {};
    last = decision;
    if (!decision.satisfied || decision.victims.length === 0 || !fitsWithout(server, new Set(decision.victims))) continue;
    evictVictims(draft, decision, lease.id);
    return { decision, target: server.id };
  }
  return last ? { decision: last } : {};
};

type WarmServer = { readonly lease: LeaseRecord; readonly server: ServerRecord; readonly frees: number };

/** Per node, the bespoke servers with a replica there whose owner is warm (expired), with what each frees there. */
const warmServersByNode = (draft: Draft): Map<string, WarmServer[]> => {
  const byNode = new Map<string, WarmServer[]>();
  for (const id of draft.servers.select((s) => s.kind === "bespoke" && s.owner !== undefined && draft.leases.get(s.owner)?.phase === "Expiring")) {
    const server = draft.servers.get(id)!;
    const owner = draft.leases.get(server.owner!)!;
    const frees = new Map<string, number>();
    for (const replica of server.replicas) for (const a of replica.gpus) frees.set(replica.node, (frees.get(replica.node) ?? 0) + a.memory);
    for (const [node, bytes] of frees) {
      if (!(bytes > 0)) continue;
      const list = byNode.get(node);
      const entry = { lease: owner, server, frees: bytes };
      if (list) list.push(entry);
      else byNode.set(node, [entry]);
    }
  }
  return byNode;
};

/** Node records as they would be if `servers` were deleted. */
const withoutServers = (records: readonly NodeRecord[], servers: readonly ServerRecord[]): NodeRecord[] => {
  const byNode = new Map(records.map((r) => [r.node.name, r] as const));
  for (const server of servers) {
    for (const replica of server.replicas) {
      const r = byNode.get(replica.node);
      if (!r) continue;
      const gpus = r.use.gpus.slice();
      const groups = r.gpuGroups.slice();
      for (const a of replica.gpus) {
        const before = gpus[a.index] ?? { milli: 0, memory: 0 };
        const after = { milli: Math.max(0, before.milli - a.milli), memory: Math.max(0, before.memory - a.memory) };
        gpus[a.index] = after;
        if (after.milli === 0 && after.memory === 0) groups[a.index] = null;
      }
      const res = server.template.resources;
      byNode.set(replica.node, {
        node: r.node,
        use: { cpu: Math.max(0, r.use.cpu - res.cpu), memory: Math.max(0, r.use.memory - res.memory), gpus },
        gpuGroups: groups,
      });
    }
  }
  return records.map((r) => byNode.get(r.node.name)!);
};

const demandMemory = (request: PlacementRequest, record: NodeRecord): number => {
  const gpu = request.gpu;
  if (gpu.kind === "share") return gpu.memory;
  if (gpu.kind === "whole") return gpu.count * Math.max(0, ...record.node.gpus.map((g) => g.memory));
  return 0;
};

const fitsOn = (draft: Draft, request: PlacementRequest, view: ClusterView): boolean => placeOnView(draft, request, view, false)?.chosen !== undefined;

/**
 * Make room for a new server on some node by evicting warm bespoke leases there (their
 * servers go). Nodes are tried by name; on each, the policy's victims are checked on a
 * what-if view before anything is evicted.
 */
export const evictOnNodes = (draft: Draft, request: PlacementRequest, forLease: string, allowed?: ReadonlySet<string>): EvictionOutcome => {
  let last: EvictionDecision | undefined;
  const warmByNode = warmServersByNode(draft);
  if (warmByNode.size === 0) return {};
  for (const record of nodeRecordsOf(draft)) {
    const warm = warmByNode.get(record.node.name);
    if (!warm || (allowed && !allowed.has(record.node.name))) continue;
    const all = withoutServers([record], warm.map((w) => w.server));
    if (!fitsOn(draft, request, viewOf(all))) continue;
    const need = Math.max(1, demandMemory(request, record) - freeGpuMemory(record));
    const decision = choose(
      draft,
      warm.map((w) => evictionCandidateOf(draft, w.lease, w.server.id, w.frees)),
      need,
    );
    if (!decision) return {};
    last = decision;
    if (!decision.satisfied || decision.victims.length === 0) continue;
    const victims = new Set(decision.victims);
    const chosen = withoutServers([record], warm.filter((w) => victims.has(w.lease.id)).map((w) => w.server));
    if (!fitsOn(draft, request, viewOf(chosen))) continue;
    evictVictims(draft, decision, forLease);
    return { decision, target: record.node.name };
  }
  return last ? { decision: last } : {};
};
