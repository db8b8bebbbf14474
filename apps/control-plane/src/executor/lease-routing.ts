// Lease routing through the backend (Backend.leaseRouting; Kubernetes: a Service per lease
// name). After every engine commit, and every probe period, it converges the backend to the
// snapshot: a route for each placed lease, tied to its servers; removed when the lease expires,
// is released or fails. A replica joins a lease's route once the lease's models answer ready on
// it (KServe v2 model readiness on the replica's own endpoint: per replica, so a replica still
// loading, or a pod that was just replaced, stays out), and leaves when they no longer do or the
// lease leaves. Inactive (nothing runs) when the backend has no lease routing.
import { Context, Duration, Effect, Layer, Option, Queue, Schedule } from "effect";
import { Backend, type LeaseRoutingShape } from "@berth/backends/backend";
import type { ObservedServer } from "@berth/backends/observation";
import { Engine, type EngineShape } from "../engine/engine.js";
import { logInfo, logWarn } from "../log.js";
import { memberChecks, memberKey, type MemberCheck, modelReadyPath, wantedRoutes } from "./lease-routing-plan.js";

export interface LeaseRoutingOptions {
  /** How often replicas are checked for their leases' models (loads finish between commits). */
  readonly probeIntervalMs: number;
  /** Timeout of one model-ready probe. */
  readonly probeTimeoutMs: number;
}

export const DEFAULT_LEASE_ROUTING_OPTIONS: LeaseRoutingOptions = { probeIntervalMs: 1000, probeTimeoutMs: 2000 };

export interface LeaseRoutingServiceShape {
  /** False when the backend offers no lease routing (process, docker, sim). */
  readonly active: boolean;
  /** Lease name -> replica ids now in its route, as applied. */
  readonly members: () => ReadonlyMap<string, readonly string[]>;
  /** Lease names whose route exists, as applied. */
  readonly routes: () => ReadonlyMap<string, readonly string[]>;
}

/** Whether every model of the check answers ready on the replica. */
export const probeMember = (check: MemberCheck, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.forEach(check.models, (model) =>
    Effect.tryPromise(async () => {
      const response = await fetch(`http://${check.http}${modelReadyPath(model)}`, { signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer().catch(() => undefined);
      return response.ok;
    }).pipe(Effect.orElseSucceed(() => false)),
  ).pipe(Effect.map((ready) => ready.every(Boolean)));

interface Member {
  readonly leaseName: string;
  readonly serverId: string;
  readonly index: number;
  readonly replicaId: string;
}

export const makeLeaseRouting = (engine: EngineShape, routing: LeaseRoutingShape, list: Effect.Effect<readonly ObservedServer[], unknown>, options: LeaseRoutingOptions) =>
  Effect.gen(function* () {
    const routes = new Map<string, readonly string[]>();
    // memberKey -> the replica, for every replica incarnation labelled into a route.
    const members = new Map<string, Member>();
    const wake = yield* Queue.sliding<void>(1);
    let cleaned = false;

    const warn = (what: string, fields: Record<string, unknown>) => (error: { readonly message: string }) => logWarn(`lease routing: ${what} failed`, { ...fields, error: error.message });

    const converge = Effect.gen(function* () {
      const snapshot = engine.snapshot();
      const wanted = wantedRoutes(snapshot);
      if (!cleaned) {
        // What an earlier berthd left: routes of leases that are gone.
        const existing = yield* routing.leaseRoutes().pipe(Effect.catchAll((e) => Effect.as(warn("listing routes", {})(e), undefined)));
        if (existing === undefined) return;
        for (const name of existing) {
          if (wanted.has(name)) continue;
          yield* routing.deleteLeaseRoute(name).pipe(Effect.catchAll(warn("deleting a route", { lease: name })));
        }
        cleaned = true;
      }
      for (const [name, servers] of wanted) {
        const applied = routes.get(name);
        if (applied !== undefined && applied.join(",") === servers.join(",")) continue;
        yield* routing.ensureLeaseRoute(name, servers).pipe(
          Effect.tap(() => Effect.sync(() => routes.set(name, servers))),
          Effect.tap(() => logInfo("lease route ensured", { lease: name, servers })),
          Effect.catchAll(warn("ensuring a route", { lease: name })),
        );
      }
      for (const name of [...routes.keys()]) {
        if (wanted.has(name)) continue;
        yield* routing.deleteLeaseRoute(name).pipe(
          Effect.tap(() => Effect.sync(() => routes.delete(name))),
          Effect.tap(() => logInfo("lease route removed", { lease: name })),
          Effect.catchAll(warn("deleting a route", { lease: name })),
        );
      }

      const observed = yield* list.pipe(Effect.orElseSucceed(() => undefined));
      if (observed === undefined) return;
      const checks = memberChecks(snapshot, observed);
      const loaded = yield* Effect.forEach(checks, (check) => Effect.map(probeMember(check, options.probeTimeoutMs), (ok) => [check, ok] as const), { concurrency: 8 });
      const keep = new Set<string>();
      for (const [check, ok] of loaded) {
        const key = memberKey(check.leaseName, check.replicaId, check.incarnation);
        if (!ok) continue;
        keep.add(key);
        if (members.has(key)) continue;
        yield* routing.setLeaseMember(check.serverId, check.index, check.leaseName, true).pipe(
          Effect.tap(() => Effect.sync(() => members.set(key, check))),
          Effect.tap(() => logInfo("replica joined a lease route", { lease: check.leaseName, replicaId: check.replicaId })),
          Effect.catchAll(warn("labelling a replica", { lease: check.leaseName, replicaId: check.replicaId })),
        );
      }
      // Out: models no longer ready there, the lease left, or the replica went (then its pod and
      // label went with it; a NotFound-free unlabel of nothing succeeds).
      const current = new Set(checks.map((c) => memberKey(c.leaseName, c.replicaId, c.incarnation)));
      for (const [key, member] of [...members]) {
        if (keep.has(key)) continue;
        // A replaced replica's new incarnation may already be in (labels are per replica): leave it.
        const renewed = [...keep].some((k) => k !== key && members.get(k)?.leaseName === member.leaseName && members.get(k)?.replicaId === member.replicaId);
        const replicaStillThere = current.has(key) || observed.some((s) => s.serverId === member.serverId && s.replicas.some((r) => r.replicaId === member.replicaId));
        const unlabel = replicaStillThere && !renewed ? routing.setLeaseMember(member.serverId, member.index, member.leaseName, false) : Effect.void;
        yield* unlabel.pipe(
          Effect.tap(() => Effect.sync(() => members.delete(key))),
          Effect.tap(() => logInfo("replica left a lease route", { lease: member.leaseName, replicaId: member.replicaId })),
          Effect.catchAll(warn("unlabelling a replica", { lease: member.leaseName, replicaId: member.replicaId })),
        );
      }
    });

    const commits = yield* engine.subscribe;
    yield* Effect.forkScoped(Queue.take(commits).pipe(Effect.zipRight(Queue.offer(wake, undefined)), Effect.forever));
    yield* Effect.forkScoped(Queue.offer(wake, undefined).pipe(Effect.repeat(Schedule.spaced(Duration.millis(options.probeIntervalMs)))));
    yield* Effect.forkScoped(Queue.take(wake).pipe(Effect.zipRight(converge), Effect.forever));

    const shape: LeaseRoutingServiceShape = {
      active: true,
      members: () => {
        const out = new Map<string, string[]>();
        for (const m of members.values()) out.set(m.leaseName, [...(out.get(m.leaseName) ?? []), m.replicaId].sort());
        return out;
      },
      routes: () => new Map(routes),
    };
    return shape;
  });

const inactive: LeaseRoutingServiceShape = { active: false, members: () => new Map(), routes: () => new Map() };

export class LeaseRouting extends Context.Tag("@berth/control-plane/LeaseRouting")<LeaseRouting, LeaseRoutingServiceShape>() {
  static readonly layerWith = (options: LeaseRoutingOptions): Layer.Layer<LeaseRouting, never, Engine | Backend> =>
    Layer.scoped(
      LeaseRouting,
      Effect.gen(function* () {
        const backend = yield* Backend;
        const routing = Option.fromNullable(backend.leaseRouting);
        if (Option.isNone(routing)) return inactive;
        const engine = yield* Engine;
        yield* logInfo("lease routing on", { backend: backend.name, autoscaling: routing.value.autoscaling });
        return yield* makeLeaseRouting(engine, routing.value, backend.list(), options);
      }),
    );

  static readonly layer: Layer.Layer<LeaseRouting, never, Engine | Backend> = LeaseRouting.layerWith(DEFAULT_LEASE_ROUTING_OPTIONS);
}
