import type { EvictionCandidate } from "../eviction/types.js";
import { heldUntil } from "../lease/clock.js";
import { modelKey, modelSetKey } from "../lease/ownership.js";
import { isTerminal } from "../lease/phase.js";
import type { LeaseRecord } from "../lease/types.js";
import type { ServerBindingRequest, ServerCandidate } from "../placement/server/types.js";
import type { LeaseSpec } from "../spec/types.js";
import type { Draft } from "./draft.js";
import type { ModelFacts, ServerRecord } from "./types.js";

// Read-only projections of the draft for the policies: what a lease needs, what a server
// offers, what evicting a lease would give back.

/** The groups of a spec's models (catalog group, else the platform's group, else the default). */
export const groupsOf = (draft: Draft, spec: LeaseSpec, overlay?: (key: string) => ModelFacts | undefined): string[] => {
  const groups = new Set<string>();
  for (const ref of spec.models) {
    const facts = overlay?.(modelKey(ref)) ?? draft.models.get(modelKey(ref));
    const group = facts?.group ?? (facts?.platform !== undefined ? draft.config.groupOfPlatform[facts.platform] ?? facts.platform : undefined);
    groups.add(group ?? draft.config.defaultGroup);
  }
  return [...groups].sort();
};

/** First guess of a lease's GPU memory per replica: measured for the same model set, else declared. */
export const memoryGuess = (draft: Draft, spec: LeaseSpec): number =>
  draft.measured.get(modelSetKey(spec.models))?.memory ?? spec.resources.gpuMemory;

/** GPU memory per replica the bound leases take on a server. */
export const usedOn = (draft: Draft, server: ServerRecord): number => {
  let used = 0;
  for (const lease of draft.leasesOn(server.id)) if (!isTerminal(lease.phase)) used += lease.memory;
  return used;
};

export const bindingRequestOf = (draft: Draft, lease: LeaseRecord): ServerBindingRequest => {
  const withServers = new Set<string>();
  for (const name of lease.spec.colocation.with) {
    const other = draft.leaseByName(name);
    if (other?.placement) withServers.add(other.placement.serverId);
  }
  return {
    leaseId: lease.id,
    leaseName: lease.spec.name,
    group: lease.group,
    where: lease.spec.where,
    memory: lease.memory,
    models: [...new Set(lease.spec.models.map(modelKey))],
    colocation: lease.spec.colocation,
    withServers: [...withServers].sort(),
  };
};

export const serverCandidateOf = (draft: Draft, server: ServerRecord): ServerCandidate => {
  const leases = draft.leasesOn(server.id).filter((l) => !isTerminal(l.phase));
  const models = new Set<string>();
  const excludes = new Set<string>();
  for (const lease of leases) {
    for (const ref of lease.spec.models) models.add(modelKey(ref));
    for (const name of lease.spec.colocation.notWith) excludes.add(name);
  }
  const pool = server.pool !== undefined ? draft.pools.get(server.pool) : undefined;
  return {
    id: server.id,
    kind: server.kind,
    ...(server.pool !== undefined ? { pool: server.pool } : {}),
    group: server.group,
    state: server.state,
    capacity: server.capacity,
    used: leases.reduce((sum, l) => sum + l.memory, 0),
    ...(pool ? { quotaPerInstance: pool.quotaPerInstance } : {}),
    leaseNames: leases.map((l) => l.spec.name).sort(),
    excludes: [...excludes].sort(),
    models: [...models].sort(),
  };
};

/** Instances of a pool, by id. */
export const poolServers = (draft: Draft, pool: string): ServerRecord[] =>
  draft.servers.select((s) => s.kind === "pool" && s.pool === pool).map((id) => draft.servers.get(id)!);

/** Time to load a lease's models again: measured, else guessed from size and the assumed throughput. */
export const loadTimeOf = (draft: Draft, lease: LeaseRecord): number => {
  if (lease.loadTime !== undefined) return lease.loadTime;
  const measured = draft.measured.get(modelSetKey(lease.spec.models))?.loadTime;
  if (measured !== undefined) return measured;
  return draft.config.server.startupTime + sizeOf(draft, lease) / Math.max(1, draft.config.server.loadBytesPerMs);
};

/** Total size of a lease's models from the catalog, else its GPU memory. */
export const sizeOf = (draft: Draft, lease: LeaseRecord): number => {
  let size = 0;
  let known = false;
  for (const ref of lease.spec.models) {
    const s = draft.models.get(modelKey(ref))?.size;
    if (s !== undefined) {
      size += s;
      known = true;
    }
  }
  return known ? size : lease.memory;
};

export const evictionCandidateOf = (draft: Draft, lease: LeaseRecord, serverId: string, frees: number): EvictionCandidate => ({
  leaseId: lease.id,
  serverId,
  frees,
  createdAt: lease.createdAt,
  heldUntil: heldUntil(lease),
  expiresAt: lease.expiresAt,
  lastActivityAt: lease.lastActivityAt,
  loadTime: loadTimeOf(draft, lease),
  size: sizeOf(draft, lease),
  recentGaps: lease.recentGaps,
});
