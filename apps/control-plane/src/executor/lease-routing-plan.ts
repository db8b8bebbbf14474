// What lease routing should look like, read off the snapshot and the backend's observations:
// which leases have a route (a Kubernetes Service per lease name) tied to which servers, and
// which replicas to check for membership (the lease's models loaded there), and which leases the
// backend's own autoscaler scales (`hpa` mode). Pure: the service in lease-routing.ts probes the
// replicas and applies the differences.
import type { AutoscalingMode, EventOf, LeasePhase, Snapshot } from "@berth/core";
import type { LeaseAutoscalerSpec } from "@berth/backends/backend";
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

/** A bespoke lease whose server its backend's autoscaler scales (`hpa` mode), as the snapshot has it. */
export interface HpaLease {
  readonly spec: LeaseAutoscalerSpec;
  /** The server's replica count in the core (what the scale target reports as current). */
  readonly replicas: number;
  readonly serverReady: boolean;
  readonly readyReplicas: number;
  /** The core already leaves the server to its backend (ServerObserved.scaledTo seen). */
  readonly scaledByBackend: boolean;
}

/**
 * The placed bespoke leases in `hpa` mode (their spec's, else the backend's default). Leases of
 * other modes are scaled by berthd's autoscaler and get nothing here.
 */
export function hpaLeases(snapshot: Snapshot, defaultMode: AutoscalingMode): HpaLease[] {
  const out: HpaLease[] = [];
  for (const lease of Object.values(snapshot.leases)) {
    const autoscaling = lease.spec.autoscaling;
    const serverId = lease.placement?.serverId;
    if (autoscaling === undefined || (autoscaling.mode ?? defaultMode) !== "hpa" || lease.spec.where.kind !== "bespoke") continue;
    if (!ROUTED.has(lease.phase) || serverId === undefined) continue;
    const server = snapshot.servers[serverId];
    if (server === undefined) continue;
    out.push({
      spec: { leaseName: lease.spec.name, serverId, metric: autoscaling.metric, target: autoscaling.target, minReplicas: autoscaling.minReplicas, maxReplicas: autoscaling.maxReplicas },
      replicas: server.replicas.length,
      serverReady: server.state === "Ready",
      readyReplicas: server.readyReplicas,
      scaledByBackend: server.scaledBy === "backend",
    });
  }
  return out.sort((a, b) => a.spec.leaseName.localeCompare(b.spec.leaseName));
}

/**
 * The event that hands the core a replica count the backend's autoscaler asks for: the server's
 * observation as the core already has it (Up, its ready replicas) plus `scaledTo`. Only for a
 * server the core has Ready (the observation must stay true) whose count differs, or that the
 * core does not yet leave to its backend (the first count, even an equal one, takes the server
 * from berthd's autoscaler, so the two never both scale it).
 */
export function scaledToEvent(lease: HpaLease, desired: number | undefined, at: number): EventOf<"ServerObserved"> | undefined {
  if (desired === undefined || !lease.serverReady || (desired === lease.replicas && lease.scaledByBackend)) return undefined;
  return { _tag: "ServerObserved", at, serverId: lease.spec.serverId, state: "Up", readyReplicas: lease.readyReplicas, scaledTo: desired };
}
