import { modelSetKey } from "../lease/ownership.js";
import type { LeaseFailure, LeaseRecord } from "../lease/types.js";
import type { ServerCandidate } from "../placement/server/types.js";
import type { CandidateVerdict } from "../placement/types.js";
import type { EvictionDecision } from "../eviction/types.js";
import type { ServerTemplate } from "../spec/types.js";
import { placementRequestOf } from "./cluster.js";
import type { Draft } from "./draft.js";
import { nodeRules } from "./colocation.js";
import { evictOnNodes, evictOnServers } from "./evict.js";
import { assign, bind, endLease } from "./lifecycle.js";
import { createServer, type ReplicasPlaced } from "./servers.js";
import type { ServerRecord } from "./types.js";
import { bindingRequestOf, poolServers, serverCandidateOf } from "./views.js";

// Placing one lease (phase Placing, unbound): join an existing server, else have a new one
// made, else make room by evicting warm leases, else fail with the reasons as data. Every
// outcome is recorded with the verdicts that led to it.

/** The candidate id under which a pool's next instance is judged in explanations. */
export const NEW_INSTANCE = "(new instance)";

interface Trail {
  serverVerdicts?: readonly CandidateVerdict[];
  nodeVerdicts?: readonly CandidateVerdict[];
  eviction?: EvictionDecision;
}

const policyNames = (draft: Draft, lease: LeaseRecord): string =>
  lease.spec.where.kind === "pool"
    ? `${draft.config.serverPolicy}+${draft.config.placementPolicy}+${draft.config.evictionPolicy}`
    : `${draft.config.placementPolicy}+${draft.config.evictionPolicy}`;

const recordPlacement = (draft: Draft, lease: LeaseRecord, outcome: string, trail: Trail, server?: ServerRecord, failure?: LeaseFailure): void =>
  draft.record({
    kind: "Placement",
    leaseId: lease.id,
    leaseName: lease.spec.name,
    policy: policyNames(draft, lease),
    outcome,
    ...(server ? { serverId: server.id, node: server.replicas[0]?.node } : {}),
    ...(trail.serverVerdicts ? { serverVerdicts: trail.serverVerdicts } : {}),
    ...(trail.nodeVerdicts ? { nodeVerdicts: trail.nodeVerdicts } : {}),
    ...(trail.eviction ? { evictionVerdicts: trail.eviction.verdicts, victims: trail.eviction.victims } : {}),
    ...(failure ? { failure } : {}),
  });

/** Bind to a server, and hand the lease to its sidecar at once when the server is up. */
const join = (draft: Draft, lease: LeaseRecord, server: ServerRecord): void => {
  const bound = bind(draft, lease, server);
  if (server.state === "Ready") assign(draft, bound, draft.servers.get(server.id)!);
};

const fail = (draft: Draft, lease: LeaseRecord, trail: Trail, failure: LeaseFailure): void => {
  recordPlacement(draft, lease, failure.code, trail, undefined, failure);
  endLease(draft, draft.leases.get(lease.id)!, "Failed", failure.code, failure);
};

/** Nothing fits now, or nothing could ever fit: the latter when every verdict seen says Never. */
const exhausted = (lease: LeaseRecord, trail: Trail, placed?: ReplicasPlaced): LeaseFailure => {
  if (placed?.unknownPolicy !== undefined)
    return { code: "Unsatisfiable", message: `placement policy "${placed.unknownPolicy}" is not registered`, details: { policy: placed.unknownPolicy } };
  const verdicts = [...(trail.serverVerdicts ?? []), ...(trail.nodeVerdicts ?? [])];
  const never = verdicts.length > 0 && verdicts.every((v) => v.code === "Never");
  const notNow = verdicts.filter((v) => v.code === "NotNow").length;
  return never
    ? { code: "Unsatisfiable", message: `no server or node could ever host lease ${lease.spec.name}`, details: { candidates: verdicts.length } }
    : {
        code: "ResourceExhausted",
        message: `no room for lease ${lease.spec.name} now`,
        details: { gpuMemory: lease.memory, candidates: verdicts.length, notNow },
      };
};

const bespokeTemplate = (draft: Draft, lease: LeaseRecord): ServerTemplate => ({
  image: lease.spec.image === "" ? draft.config.defaultImage : lease.spec.image,
  resources: lease.spec.resources,
  group: lease.group,
});

const initialReplicas = (lease: LeaseRecord): number => Math.max(1, lease.spec.autoscaling?.minReplicas ?? 1);

const sameShape = (a: ServerTemplate, b: ServerTemplate): boolean =>
  a.image === b.image && a.group === b.group && JSON.stringify(a.resources) === JSON.stringify(b.resources);

/**
 * A warm bespoke server (its owner expired, models still loaded) for the same model set and
 * shape: the new lease takes it over instead of loading everything again elsewhere.
 */
const adoptWarmServer = (draft: Draft, lease: LeaseRecord, allowed: ReadonlySet<string> | undefined): boolean => {
  const key = modelSetKey(lease.spec.models);
  const template = bespokeTemplate(draft, lease);
  const warm = draft
    .leaseIndex()
    .expiringWhere(draft.leases.result(), (l) => l.phase === "Expiring" && l.spec.where.kind === "bespoke" && l.placement !== undefined && modelSetKey(l.spec.models) === key);
  for (const ownerId of warm) {
    const owner = draft.leases.get(ownerId)!;
    const server = draft.servers.get(owner.placement!.serverId);
    if (!server || server.kind !== "bespoke" || server.owner !== owner.id || server.state === "Down") continue;
    if (allowed && !server.replicas.every((r) => allowed.has(r.node))) continue;
    const id = server.id;
    if (!sameShape({ ...server.template, resources: { ...server.template.resources, gpuMemory: template.resources.gpuMemory } }, template)) continue;
    const adopted: ServerRecord = { ...server, owner: lease.id };
    draft.servers.set(id, adopted);
    const bound = bind(draft, { ...lease, memory: owner.measuredMemory ?? lease.memory }, adopted);
    // The old lease leaves; its models stay because the new one holds them on this server.
    endLease(draft, owner, "Released", "Superseded");
    const current = draft.servers.get(id)!;
    if (current.state === "Ready") assign(draft, bound, current);
    recordPlacement(draft, lease, "AdoptedWarmServer", {}, current);
    return true;
  }
  return false;
};

const placeBespoke = (draft: Draft, lease: LeaseRecord): void => {
  const rules = nodeRules(draft, lease);
  if (adoptWarmServer(draft, lease, rules?.allowed)) return;
  const spec = {
    kind: "bespoke" as const,
    owner: lease.id,
    template: bespokeTemplate(draft, lease),
    gpuMemory: lease.memory,
    replicas: initialReplicas(lease),
    ...(rules ? { allowed: rules.allowed } : {}),
  };
  const trail: Trail = {};
  let made = createServer(draft, spec);
  trail.nodeVerdicts = made.placed.verdicts && rules ? [...made.placed.verdicts, ...rules.excluded] : made.placed.verdicts;
  if (!made.server && made.placed.unknownPolicy === undefined) {
    const request = placementRequestOf(lease.id, spec.template.resources, lease.memory, lease.group);
    const eviction = evictOnNodes(draft, request, lease.id, rules?.allowed);
    if (eviction.decision) trail.eviction = eviction.decision;
    if (eviction.target !== undefined) made = createServer(draft, spec);
  }
  if (!made.server) return fail(draft, lease, trail, exhausted(lease, trail, made.placed));
  const server = made.server;
  bind(draft, lease, server);
  recordPlacement(draft, lease, trail.eviction?.victims.length ? "NewServerAfterEviction" : "NewServer", trail, server);
};

const placeInPool = (draft: Draft, lease: LeaseRecord): void => {
  const where = lease.spec.where;
  if (where.kind !== "pool") return;
  const pool = draft.pools.get(where.pool);
  if (!pool) return fail(draft, lease, {}, { code: "PoolMissing", message: `pool ${where.pool} is not defined`, details: { pool: where.pool } });
  const policy = draft.policies.serverBinding(draft.config.serverPolicy);
  if (!policy)
    return fail(draft, lease, {}, { code: "Unsatisfiable", message: `server policy "${draft.config.serverPolicy}" is not registered`, details: { policy: draft.config.serverPolicy } });
  const request = bindingRequestOf(draft, lease);
  const instances = poolServers(draft, where.pool);
  const explain = draft.config.explain;
  const trail: Trail = {};
  const binding = policy.bind(
    request,
    instances.map((s) => serverCandidateOf(draft, s)),
    { explain },
  );
  trail.serverVerdicts = binding.verdicts;
  if (binding.chosen !== undefined) {
    const server = draft.servers.get(binding.chosen)!;
    join(draft, lease, server);
    return recordPlacement(draft, lease, "BoundToServer", trail, server);
  }
  if (!explain) trail.serverVerdicts = policy.bind(request, instances.map((s) => serverCandidateOf(draft, s)), { explain: true }).verdicts;
  // A new instance, while the pool may grow and an empty instance could take the lease.
  const hypothetical: ServerCandidate = {
    id: NEW_INSTANCE,
    kind: "pool",
    pool: pool.name,
    group: pool.template.group,
    state: "Starting",
    capacity: pool.template.resources.gpuMemory,
    used: 0,
    quotaPerInstance: pool.quotaPerInstance,
    leaseNames: [],
    excludes: [],
    models: [],
  };
  const onEmpty = policy.bind(request, [hypothetical], { explain: true });
  trail.serverVerdicts = [...(trail.serverVerdicts ?? []), ...(onEmpty.verdicts ?? [])];
  const fresh = instances.length < pool.maxInstances && onEmpty.chosen !== undefined ? newPoolInstance(draft, pool.name, trail, lease.id) : undefined;
  if (fresh) {
    join(draft, lease, fresh);
    return recordPlacement(draft, lease, "NewServer", trail, fresh);
  }
  // Evict warm leases on an instance the lease could join but for memory.
  const eviction = evictOnServers(draft, lease, instances, (server, without) => {
    const candidate = serverCandidateOf(draft, server);
    const gone = draft.leasesOn(server.id).filter((l) => without.has(l.id));
    const reduced = {
      ...candidate,
      used: candidate.used - gone.reduce((sum, l) => sum + l.memory, 0),
      leaseNames: candidate.leaseNames.filter((n) => !gone.some((l) => l.spec.name === n)),
    };
    return policy.bind(request, [reduced]).chosen !== undefined;
  });
  if (eviction.decision) trail.eviction = eviction.decision;
  if (eviction.target !== undefined) {
    const server = draft.servers.get(eviction.target)!;
    join(draft, lease, server);
    return recordPlacement(draft, lease, "BoundAfterEviction", trail, server);
  }
  fail(draft, lease, trail, exhausted(lease, trail));
};

/** A new instance of a pool (Starting), or undefined when no node has room for it. */
export const newPoolInstance = (draft: Draft, poolName: string, trail?: Trail, forLease?: string): ServerRecord | undefined => {
  const pool = draft.pools.get(poolName);
  if (!pool) return undefined;
  const spec = { kind: "pool" as const, pool: pool.name, template: pool.template, gpuMemory: pool.template.resources.gpuMemory, replicas: 1 };
  let made = createServer(draft, spec);
  if (trail) trail.nodeVerdicts = made.placed.verdicts;
  if (!made.server && made.placed.unknownPolicy === undefined) {
    const request = placementRequestOf(pool.name, pool.template.resources, pool.template.resources.gpuMemory, pool.template.group);
    const eviction = evictOnNodes(draft, request, forLease ?? `pool:${pool.name}`);
    if (trail && eviction.decision) trail.eviction = eviction.decision;
    if (eviction.target !== undefined) made = createServer(draft, spec);
  }
  return made.server;
};

/** Place a lease that is in Placing and bound nowhere. */
export const placeLease = (draft: Draft, lease: LeaseRecord): void => {
  if (lease.spec.where.kind === "bespoke") placeBespoke(draft, lease);
  else placeInPool(draft, lease);
};
