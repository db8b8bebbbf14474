// berthd's view of the fleet (berth.v1 Lease and Server messages) -> the router's route set.
// Pure: the feed (berthd-feed.ts) does the I/O and calls this after every change.
import { leasePhaseWord } from "@berth/api/berth";
import type { Lease, Server } from "@berth/api/berth";
import type { AutoLeasePolicy, LeaseRoute, RouteSet } from "./route-set.js";

/** Phases whose replicas the router may use: Ready, and Expiring (warm: only when no Ready lease holds the model). */
const ROUTED_PHASES = new Set(["Ready", "Expiring"]);

/** The router dials host:port; anything else (the sim backend's `sim://` names) is no endpoint for it. */
const HOST_PORT = /^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;

/** One replica id per (server, endpoint): the same replica in two leases of a pool server counts its outstanding requests once. */
export const replicaId = (serverId: string, endpoint: string): string => `${serverId}@${endpoint}`;

interface Endpoints {
  readonly http: string;
  readonly grpc?: string;
}

/**
 * The replicas' endpoints, one per HTTP endpoint, sorted: berthd lists a replica's gRPC
 * endpoint at the index of its HTTP one (`grpcEndpoints`; absent from an older berthd, and ""
 * where it does not know it). Without a listing, a kept route's own replicas.
 */
const replicaEndpoints = (listed: { readonly endpoints: readonly string[]; readonly grpcEndpoints?: readonly string[] | undefined }, kept?: LeaseRoute): Endpoints[] => {
  const found = new Map<string, string | undefined>();
  listed.endpoints.forEach((http, i) => {
    const grpc = listed.grpcEndpoints?.[i];
    if (HOST_PORT.test(http)) found.set(http, grpc !== undefined && HOST_PORT.test(grpc) ? grpc : found.get(http));
  });
  for (const r of kept?.replicas ?? []) if (r.http !== undefined) found.set(r.http, r.grpc);
  return [...found.keys()].sort().map((http) => {
    const grpc = found.get(http);
    return grpc === undefined ? { http } : { http, grpc };
  });
};

const onServer = (route: LeaseRoute, serverId: string): boolean => route.replicas.length > 0 && route.replicas.every((r) => r.id.startsWith(`${serverId}@`));

/**
 * The route set for the leases berthd reports. A lease's endpoints come from its server's
 * latest listing when berthd listed that server (the sidecars connected now), otherwise from
 * the lease's own placement. Each replica has its KServe v2 HTTP `host:port` and, where berthd
 * knows it, its gRPC one (a replica without one takes no gRPC requests).
 *
 * `previous` (the last route set) bridges berthd's re-checks: a lease routed on a server that
 * is Loading again on that same server (berthd restarted and awaits the sidecar's report, or a
 * replica is being reloaded), or Ready there with no endpoints reported yet, keeps its route.
 * Its replicas answer when they can; the router marks those that refuse connections down.
 */
export function routeSetFromBerthd(
  leases: Iterable<Lease>,
  servers: ReadonlyMap<string, Server>,
  autoLease: Readonly<Record<string, AutoLeasePolicy>> = {},
  previous?: RouteSet,
): RouteSet {
  const before = new Map((previous?.leases ?? []).map((l) => [l.name, l]));
  const routes: LeaseRoute[] = [];
  const seen = new Set<string>();
  for (const lease of leases) {
    const phase = leasePhaseWord(lease.phase);
    const placement = lease.placement;
    if (phase === undefined || placement === null || placement.serverId === "" || seen.has(lease.name)) continue;
    // Names are unique per tenant; the router keys activity by name, so a second lease of the same name is left out.
    const earlier = before.get(lease.name);
    const kept = earlier !== undefined && onServer(earlier, placement.serverId) ? earlier : undefined;
    if (phase === "Loading" && kept?.phase === "Ready") {
      seen.add(lease.name);
      routes.push(kept);
      continue;
    }
    if (!ROUTED_PHASES.has(phase)) continue;
    const server = servers.get(placement.serverId);
    const reported = replicaEndpoints(server !== undefined && server.endpoints.length > 0 ? server : placement);
    const endpoints = reported.length > 0 ? reported : replicaEndpoints({ endpoints: [], grpcEndpoints: [] }, kept);
    if (endpoints.length === 0) continue;
    seen.add(lease.name);
    routes.push({
      name: lease.name,
      phase,
      models: [...new Set((lease.spec?.models ?? []).map((m) => m.name))],
      replicas: endpoints.map(({ http, grpc }) => ({ id: replicaId(placement.serverId, http), http, ...(grpc !== undefined ? { grpc } : {}) })),
    });
  }
  routes.sort((a, b) => a.name.localeCompare(b.name));
  return { leases: routes, autoLease: { ...autoLease } };
}
