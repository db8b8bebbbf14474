// The routing table: model name -> the replicas of the leases holding it, indexed once per
// update so the request path does one map lookup. Whoever knows the fleet updates it (berthd
// over gRPC, or the route-file watcher standalone); the router reads it.
import type { AutoLeasePolicy, RouteSet } from "./route-set.js";
import { EMPTY_ROUTE_SET } from "./route-set.js";

export type Protocol = "http" | "grpc";

/** A replica a request for a model may go to, with every lease through which it holds the model. */
export interface Candidate {
  readonly id: string;
  /** host:port for the protocol of the list it is in. */
  readonly address: string;
  /** Leases credited with the request's activity. */
  readonly leases: readonly string[];
}

export interface ModelRoutes {
  readonly http: readonly Candidate[];
  readonly grpc: readonly Candidate[];
  /** True when no Ready lease holds the model and these are the replicas of warm (Expiring) leases. */
  readonly warm: boolean;
}

export interface RouteTable {
  /** Replaces the whole table. */
  set(routes: RouteSet): void;
  current(): RouteSet;
  /** The replicas for a model, or undefined when no Ready (or warm) lease with replicas holds it. */
  routesFor(model: string): ModelRoutes | undefined;
  autoLeaseFor(model: string): AutoLeasePolicy | undefined;
  /** Whether a route set has been set at least once (the router's readiness). */
  readonly loaded: boolean;
  /** Called after every set; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

function index(routes: RouteSet): Map<string, ModelRoutes> {
  type Acc = Map<string, { address: string; leases: string[] }>;
  const byModel = new Map<string, { ready: { http: Acc; grpc: Acc }; warm: { http: Acc; grpc: Acc } }>();
  for (const lease of routes.leases) {
    const tier = lease.phase === "Ready" ? "ready" : lease.phase === "Expiring" ? "warm" : undefined;
    if (tier === undefined) continue;
    for (const model of new Set(lease.models)) {
      let entry = byModel.get(model);
      if (entry === undefined) {
        entry = { ready: { http: new Map(), grpc: new Map() }, warm: { http: new Map(), grpc: new Map() } };
        byModel.set(model, entry);
      }
      for (const r of lease.replicas) {
        for (const protocol of ["http", "grpc"] as const) {
          const address = r[protocol];
          if (address === undefined) continue;
          const acc = entry[tier][protocol];
          const seen = acc.get(r.id);
          if (seen === undefined) acc.set(r.id, { address, leases: [lease.name] });
          else if (!seen.leases.includes(lease.name)) seen.leases.push(lease.name);
        }
      }
    }
  }
  const list = (acc: Acc): Candidate[] => [...acc].map(([id, v]) => ({ id, address: v.address, leases: v.leases }));
  const out = new Map<string, ModelRoutes>();
  for (const [model, entry] of byModel) {
    const ready = { http: list(entry.ready.http), grpc: list(entry.ready.grpc) };
    if (ready.http.length + ready.grpc.length > 0) out.set(model, { ...ready, warm: false });
    else {
      const warm = { http: list(entry.warm.http), grpc: list(entry.warm.grpc) };
      if (warm.http.length + warm.grpc.length > 0) out.set(model, { ...warm, warm: true });
    }
  }
  return out;
}

/** The table in memory; `set` is the only way in. */
export class InMemoryRouteTable implements RouteTable {
  private routes: RouteSet = EMPTY_ROUTE_SET;
  private byModel = new Map<string, ModelRoutes>();
  private readonly listeners = new Set<() => void>();
  loaded = false;

  constructor(initial?: RouteSet) {
    if (initial !== undefined) this.set(initial);
  }

  set(routes: RouteSet): void {
    this.routes = routes;
    this.byModel = index(routes);
    this.loaded = true;
    for (const listener of [...this.listeners]) listener();
  }

  current(): RouteSet {
    return this.routes;
  }

  routesFor(model: string): ModelRoutes | undefined {
    return this.byModel.get(model);
  }

  autoLeaseFor(model: string): AutoLeasePolicy | undefined {
    return this.routes.autoLease[model] ?? this.routes.autoLease["*"];
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
