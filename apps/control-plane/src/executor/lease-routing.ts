// Lease routing through the backend (Backend.leaseRouting; Kubernetes: a Service per lease
// name). After every engine commit, and every probe period, it converges the backend to the
// snapshot: a route for each placed lease, tied to its servers; removed when the lease expires,
// is released or fails. A replica joins a lease's route once the lease's models answer ready on
// it (KServe v2 model readiness on the replica's own endpoint: per replica, so a replica still
// loading, or a pod that was just replaced, stays out), and leaves when they no longer do or the
// lease leaves. Leases in `hpa` mode get their backend's autoscaler (Kubernetes: an HPA on the
// server's BerthServer); the replica count it asks for goes to the core (ServerObserved.scaledTo),
// whose ScaleServer the executor carries out as any other. Inactive (nothing runs) when the
// backend has no lease routing.
import { Clock, Context, Duration, Effect, Layer, Option, Queue, Schedule } from "effect";
import { Backend, type LeaseRoutingShape } from "@berth/backends/backend";
import type { ObservedServer } from "@berth/backends/observation";
import { Engine, type EngineShape } from "../engine/engine.js";
import { logInfo, logWarn } from "../log.js";
import { hpaLeases, memberChecks, memberKey, type MemberCheck, modelReadyPath, scaledToEvent, wantedRoutes } from "./lease-routing-plan.js";

export interface LeaseRoutingOptions {
  /** How often replicas are checked for their leases' models (loads finish between commits). */
  readonly probeIntervalMs: number;
  /** Timeout of one model-ready probe. */
  readonly probeTimeoutMs: number;
  /**
   * How often a lease's autoscaler is applied again although its spec did not change (one deleted
   * by hand comes back), and a count the core could not reach in full is offered again.
   */
  readonly autoscalerRefreshMs?: number;
}

const DEFAULT_AUTOSCALER_REFRESH_MS = 30_000;
export const DEFAULT_LEASE_ROUTING_OPTIONS: LeaseRoutingOptions = { probeIntervalMs: 1000, probeTimeoutMs: 2000, autoscalerRefreshMs: DEFAULT_AUTOSCALER_REFRESH_MS };

export interface LeaseRoutingServiceShape {
  /** False when the backend offers no lease routing (process, docker, sim). */
  readonly active: boolean;
  /** Lease name -> replica ids now in its route, as applied. */
  readonly members: () => ReadonlyMap<string, readonly string[]>;
  /** Lease names whose route exists, as applied. */
  readonly routes: () => ReadonlyMap<string, readonly string[]>;
  /** Lease name -> server id, for every lease whose backend autoscaler (`hpa` mode) is applied. */
  readonly autoscalers: () => ReadonlyMap<string, string>;
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

    // Lease name -> what was applied (spec as JSON) and when; server id -> the last count offered.
    const refreshMs = options.autoscalerRefreshMs ?? DEFAULT_AUTOSCALER_REFRESH_MS;
    const autoscalers = new Map<string, { readonly key: string; readonly serverId: string; readonly at: number }>();
    const offered = new Map<string, { readonly key: string; readonly at: number }>();
    const followAutoscalers = (snapshot: ReturnType<EngineShape["snapshot"]>) =>
      Effect.gen(function* () {
        const autoscaler = routing.autoscaler;
        if (autoscaler === undefined) return;
        const now = yield* Clock.currentTimeMillis;
        const leases = hpaLeases(snapshot, autoscaler.defaultMode);
        for (const lease of leases) {
          const name = lease.spec.leaseName;
          const key = JSON.stringify(lease.spec);
          const applied = autoscalers.get(name);
          if (applied === undefined || applied.key !== key || now - applied.at >= refreshMs) {
            const ok = yield* autoscaler.ensureLeaseAutoscaler(lease.spec, lease.replicas).pipe(
              Effect.tap(() => Effect.sync(() => autoscalers.set(name, { key, serverId: lease.spec.serverId, at: now }))),
              Effect.tap(() => (applied?.key === key ? Effect.void : logInfo("lease autoscaler ensured", { lease: name, serverId: lease.spec.serverId }))),
              Effect.as(true),
              Effect.catchAll((e) => Effect.as(warn("ensuring a lease autoscaler", { lease: name })(e), false)),
            );
            if (!ok) continue;
          }
          const desired = yield* autoscaler
            .syncScaleTarget(lease.spec.serverId, lease.replicas)
            .pipe(Effect.catchAll((e) => Effect.as(warn("reading a scale target", { serverId: lease.spec.serverId })(e), undefined)));
          const event = scaledToEvent(lease, desired, now);
          if (event === undefined) continue;
          // The same count against the same replicas is offered once per refresh (the core may have
          // reached only part of it: more may fit later), not every second.
          const offer = JSON.stringify([event.scaledTo, lease.replicas]);
          const last = offered.get(lease.spec.serverId);
          if (last !== undefined && last.key === offer && now - last.at < refreshMs) continue;
          offered.set(lease.spec.serverId, { key: offer, at: now });
          yield* engine.submit(event).pipe(
            Effect.tap(() => logInfo("backend autoscaler scaled a server", { lease: name, serverId: lease.spec.serverId, from: lease.replicas, to: event.scaledTo })),
            Effect.catchAll(warn("reporting a backend scale", { serverId: lease.spec.serverId })),
          );
        }
        const wanted = new Set(leases.map((l) => l.spec.leaseName));
        for (const name of [...autoscalers.keys()]) {
          if (wanted.has(name)) continue;
          yield* autoscaler.deleteLeaseAutoscaler(name).pipe(
            Effect.tap(() => Effect.sync(() => autoscalers.delete(name))),
            Effect.tap(() => logInfo("lease autoscaler removed", { lease: name })),
            Effect.catchAll(warn("deleting a lease autoscaler", { lease: name })),
          );
        }
        for (const serverId of [...offered.keys()]) if (snapshot.servers[serverId] === undefined) offered.delete(serverId);
      });

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

      yield* followAutoscalers(snapshot);

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
      autoscalers: () => new Map([...autoscalers].map(([name, a]) => [name, a.serverId])),
    };
    return shape;
  });

const inactive: LeaseRoutingServiceShape = { active: false, members: () => new Map(), routes: () => new Map(), autoscalers: () => new Map() };

export class LeaseRouting extends Context.Tag("@berth/control-plane/LeaseRouting")<LeaseRouting, LeaseRoutingServiceShape>() {
  static readonly layerWith = (options: LeaseRoutingOptions): Layer.Layer<LeaseRouting, never, Engine | Backend> =>
    Layer.scoped(
      LeaseRouting,
      Effect.gen(function* () {
        const backend = yield* Backend;
        const routing = Option.fromNullable(backend.leaseRouting);
        if (Option.isNone(routing)) return inactive;
        const engine = yield* Engine;
        yield* logInfo("lease routing on", { backend: backend.name, autoscaling: routing.value.autoscaler?.defaultMode ?? routing.value.autoscaling });
        return yield* makeLeaseRouting(engine, routing.value, backend.list(), options);
      }),
    );

  static readonly layer: Layer.Layer<LeaseRouting, never, Engine | Backend> = LeaseRouting.layerWith(DEFAULT_LEASE_ROUTING_OPTIONS);
}
