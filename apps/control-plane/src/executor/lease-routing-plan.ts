// What lease routing should look like, read off the snapshot and the backend's observations:
// which leases have a route (a Kubernetes Service per lease name) tied to which servers, and
// which replicas to check for membership (the lease's models loaded there). Pure: the service
// in lease-routing.ts probes the replicas and applies the differences.
import type { LeasePhase, Snapshot } from "@berth/core";
import type { ObservedServer } from "@berth/backends/observation";

/** A lease has a route from placement until it expires, is released or fails. */
const ROUTED: ReadonlySet<LeasePhase> = new Set<LeasePhase>(["Loading", "Ready"]);

/** Lease name -> the servers it is bound to (sorted), for every lease that should have a route. */
export function wantedRoutes(snapshot: Snapshot): Map<string, readonly string[]> {
  const out = new Map<string, string[]>();
  for (const lease of Object.values(snapshot.leases)) {
    const serverId = lease.placement?.serverId;
    if (!ROUTED.has(lease.phase) || serverId === undefined || snapshot.servers[serverId] === undefined) continue;
    const servers = out.get(lease.spec.name) ?? [];
    if (!servers.includes(serverId)) servers.push(serverId);
    out.set(lease.spec.name, servers.sort());
  }
  return out;
}

/** One replica that may hold a lease: it is a member when every model answers ready on `http`. */
export interface MemberCheck {
  readonly leaseName: string;
  readonly serverId: string;
  readonly index: number;
  readonly replicaId: string;
  /** Replacements of the replica's pod or process so far: a new one starts out of the route. */
  readonly incarnation: number;
  readonly http: string;
  readonly models: readonly { readonly name: string; readonly version: number }[];
}

/** The replicas to check: each Ready replica (with an HTTP endpoint) of a server a routed, assigned lease is bound to. */
export function memberChecks(snapshot: Snapshot, observed: readonly ObservedServer[]): MemberCheck[] {
  const byId = new Map(observed.map((s) => [s.serverId, s]));
  const out: MemberCheck[] = [];
  for (const lease of Object.values(snapshot.leases)) {
    const placement = lease.placement;
    if (!ROUTED.has(lease.phase) || placement === undefined || !placement.assigned) continue;
    const server = byId.get(placement.serverId);
    if (server === undefined) continue;
    for (const replica of server.replicas) {
      if (replica.state !== "Ready" || replica.endpoints === undefined || replica.index >= server.desiredReplicas) continue;
      out.push({
        leaseName: lease.spec.name,
        serverId: server.serverId,
        index: replica.index,
        replicaId: replica.replicaId,
        incarnation: replica.restarts,
        http: replica.endpoints.http,
        models: lease.spec.models.map((m) => ({ name: m.name, version: m.version ?? 0 })),
      });
    }
  }
  return out;
}

/** The key of one replica incarnation's membership in one lease's route. */
export const memberKey = (leaseName: string, replicaId: string, incarnation: number): string => JSON.stringify([leaseName, replicaId, incarnation]);

/** A KServe v2 model-ready path (`/v2/models/{name}[/versions/{v}]/ready`). */
export const modelReadyPath = (model: { readonly name: string; readonly version: number }): string =>
  `/v2/models/${encodeURIComponent(model.name)}${model.version > 0 ? `/versions/${model.version}` : ""}/ready`;
