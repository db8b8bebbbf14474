import { COLOCATION, NOT_WITH_PRESENT, WITH_ELSEWHERE } from "../placement/server/colocation.js";
import type { CandidateVerdict } from "../placement/types.js";
import { isTerminal } from "../lease/phase.js";
import type { LeaseRecord } from "../lease/types.js";
import type { Draft } from "./draft.js";

// Co-location for bespoke leases. A bespoke lease has a server of its own, so its rules apply
// to nodes: `with` keeps its replicas on nodes hosting the named leases, `notWith` (its own,
// or another lease's naming it) keeps them off nodes hosting them.

const nodesOf = (draft: Draft, lease: LeaseRecord | undefined): Set<string> => {
  const nodes = new Set<string>();
  const server = lease?.placement ? draft.servers.get(lease.placement.serverId) : undefined;
  for (const replica of server?.replicas ?? []) nodes.add(replica.node);
  return nodes;
};

export interface NodeRules {
  /** Nodes the lease may use. */
  readonly allowed: ReadonlySet<string>;
  /** Verdicts for the nodes the rules exclude (for explanations). */
  readonly excluded: readonly CandidateVerdict[];
}

/** The nodes a bespoke lease's co-location rules leave it, or undefined when no rule applies now. */
export const nodeRules = (draft: Draft, lease: LeaseRecord): NodeRules | undefined => {
  const withNodes: Set<string>[] = [];
  for (const name of lease.spec.colocation.with) {
    const other = draft.leaseByName(name);
    if (other?.placement) withNodes.push(nodesOf(draft, other));
  }
  const avoid = new Set<string>();
  for (const name of lease.spec.colocation.notWith) for (const node of nodesOf(draft, draft.leaseByName(name))) avoid.add(node);
  const leases = draft.leases.result();
  for (const id of draft.leaseIndex().namingOthersWhere(leases, (l) => !isTerminal(l.phase) && l.placement !== undefined && l.spec.colocation.notWith.includes(lease.spec.name)))
    for (const node of nodesOf(draft, draft.leases.get(id))) avoid.add(node);
  if (withNodes.length === 0 && avoid.size === 0) return undefined;
  const allowed = new Set<string>();
  const excluded: CandidateVerdict[] = [];
  for (const name of draft.nodes.keys()) {
    const elsewhere = withNodes.some((nodes) => !nodes.has(name));
    if (!elsewhere && !avoid.has(name)) allowed.add(name);
    else
      excluded.push({
        candidate: name,
        code: "NotNow",
        reasons: [{ plugin: COLOCATION, reason: avoid.has(name) ? NOT_WITH_PRESENT : WITH_ELSEWHERE }],
      });
  }
  return { allowed, excluded };
};
