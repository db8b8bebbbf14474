import { Clock, Context, Duration, Effect, Layer, Option, Queue, Schedule } from "effect";
import type { Event, LeaseRecord, ServerRecord, Snapshot } from "@berth/core";
import type { Assignment, ModelActivity, SidecarReport } from "@berth/api/sidecar";
import { BerthdConfig } from "../config/config.js";
import { Engine, type Commit } from "../engine/engine.js";
import { logDebug, logInfo, logWarn } from "../log.js";
import { desiredKey, desiredLeases } from "./desired.js";
import { addLoad, isAutoscalingMetric, leaseMetricSample, loadOfActivity, type ModelLoad } from "./lease-metrics.js";

/** One connected sidecar (a gRPC Connect stream, or the sim backend's in-process sidecar). */
export interface SidecarSession {
  readonly serverId: string;
  readonly replicaId: string;
  readonly endpoint: string;
  readonly send: (assignment: Assignment) => void;
}

/** What the hub keeps of a backend's observed replica. */
export interface ObservedReplicaEndpoints {
  readonly replicaId: string;
  readonly grpc?: string | undefined;
}

export interface ServerHealthReport {
  readonly ready: boolean;
  readonly message: string;
  readonly at: number;
}

export interface SidecarHubShape {
  /** A sidecar said Hello: it gets its server's desired state now and every change later. */
  readonly attach: (session: SidecarSession) => Effect.Effect<void>;
  readonly detach: (session: SidecarSession) => Effect.Effect<void>;
  /** A report from a sidecar, turned into core events (ModelsLoaded, ModelsFailed, Activity). */
  readonly report: (session: SidecarSession, report: SidecarReport) => Effect.Effect<void>;
  /**
   * After a commit: send every server whose desired state changed its new one. It looks at the
   * servers the commits since the last call touched (and at all of them about once a second), in
   * the newest state, which includes the caller's `snapshot`.
   */
  readonly sync: (snapshot: Snapshot) => Effect.Effect<void>;
  /** Endpoints ("host:port") the server's sidecars reported. */
  readonly endpoints: (serverId: string) => readonly string[];
  /**
   * The KServe v2 gRPC endpoint of each replica in `endpoints(serverId)`, index for index ("" where
   * the backend has not said): the sidecars report only HTTP, the backend's observations the rest.
   */
  readonly grpcEndpoints: (serverId: string) => readonly string[];
  /** The backend observed a server's replicas (all of them; none: it is gone): remember their gRPC endpoints. */
  readonly replicasObserved: (serverId: string, replicas: readonly ObservedReplicaEndpoints[]) => void;
  readonly sessions: (serverId: string) => number;
  readonly health: (serverId: string) => ServerHealthReport | undefined;
  /**
   * Turns the load the sidecars reported since the previous call into one MetricObserved per
   * autoscaled lease (lease-metrics.ts) and starts a new period. The hub calls it every
   * autoscaler sync period by itself.
   */
  readonly observeMetrics: Effect.Effect<void>;
}

/**
 * One MetricObserved per Ready, autoscaled bespoke lease on each server whose replicas reported
 * load this period (`periods`: server -> replica -> model -> load), on the metric its spec names.
 */
export const metricSamples = (snapshot: Snapshot, periods: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, ModelLoad>>>, at: number): Event[] => {
  const events: Event[] = [];
  for (const [serverId, replicas] of periods) {
    const server = snapshot.servers[serverId];
    if (server === undefined || server.kind !== "bespoke") continue;
    for (const id of server.leases) {
      const lease = snapshot.leases[id];
      const metric = lease?.spec.autoscaling?.metric;
      if (lease === undefined || lease.phase !== "Ready" || metric === undefined || !isAutoscalingMetric(metric)) continue;
      const sample = leaseMetricSample(metric, new Set(lease.spec.models.map((m) => m.name)), replicas.values(), Math.max(1, server.replicas.length));
      if (sample !== undefined) events.push({ _tag: "MetricObserved", at, leaseId: id, sample });
    }
  }
  return events;
};

/**
 * Request rate per replica from one Activity report, for bespoke leases that scale on `rps`:
 * the requests a replica served for the lease's models since its previous report, per second,
 * the rate of one standing for the average. The hub itself now aggregates every metric over
 * all replicas per sync period (metricSamples); this per-report form stays for callers of it.
 */
export const rpsSamples = (snapshot: Snapshot, serverId: string, models: readonly ModelActivity[], seconds: number, at: number): Event[] => {
  const server = snapshot.servers[serverId];
  if (server === undefined || server.kind !== "bespoke") return [];
  const events: Event[] = [];
  for (const id of server.leases) {
    const lease = snapshot.leases[id];
    if (lease === undefined || lease.phase !== "Ready" || lease.spec.autoscaling?.metric !== "rps") continue;
    const names = new Set(lease.spec.models.map((m) => m.name));
    const requests = models.filter((m) => names.has(m.model)).reduce((sum, m) => sum + Math.max(m.execution_count_delta, m.inference_count_delta), 0);
    const rate = requests / seconds;
    const ready = Math.max(1, server.readyReplicas);
    events.push({ _tag: "MetricObserved", at, leaseId: id, sample: { value: rate, readyReplicas: ready, arrivalRate: rate * ready } });
  }
  return events;
};

/**
 * What a server's sidecars were last sent, with the records it was read from: decide replaces a
 * record it changes and shares the others, so when the server's record and its leases' records
 * are the very same objects, the desired state cannot have changed and nothing is recomputed.
 */
interface Sent {
  readonly key: string;
  readonly server: ServerRecord | undefined;
  readonly leases: readonly (LeaseRecord | undefined)[];
}

const sentFrom = (snapshot: Snapshot, serverId: string, key: string): Sent => {
  const server = snapshot.servers[serverId];
  return { key, server, leases: server === undefined ? [] : server.leases.map((id) => snapshot.leases[id]) };
};

const sameRecords = (snapshot: Snapshot, serverId: string, last: Sent): boolean => {
  const server = snapshot.servers[serverId];
  if (server !== last.server) return false;
  if (server === undefined) return true;
  const ids = server.leases;
  for (let i = 0; i < ids.length; i++) if (snapshot.leases[ids[i]!] !== last.leases[i]) return false;
  return true;
};

/** How often sync also looks at every connected server, in case a change reached none of the touched ones. */
const FULL_PASS_EVERY_MS = 1000;

export class SidecarHub extends Context.Tag("@berth/control-plane/SidecarHub")<SidecarHub, SidecarHubShape>() {
  static readonly layer: Layer.Layer<SidecarHub, never, Engine> = Layer.scoped(
    SidecarHub,
    Effect.gen(function* () {
      const engine = yield* Engine;
      // The autoscalers' sync period from berthd's configuration (HPA's 15 s without one).
      const syncPeriod = Option.match(yield* Effect.serviceOption(BerthdConfig), {
        onNone: () => 15_000,
        onSome: (config) => config.decide.autoscaler.syncPeriod,
      });
      const sessions = new Map<string, Set<SidecarSession>>();
      const sent = new Map<string, Sent>();
      const healths = new Map<string, ServerHealthReport>();
      const lastActivity = new WeakMap<SidecarSession, number>();
      // This sync period's load: server -> replica -> model -> load summed over its reports.
      let periods = new Map<string, Map<string, Map<string, ModelLoad>>>();
      const recordLoad = (session: SidecarSession, models: readonly ModelActivity[], fallbackIntervalMs: number | undefined): void => {
        let replicas = periods.get(session.serverId);
        if (replicas === undefined) periods.set(session.serverId, (replicas = new Map()));
        let loads = replicas.get(session.replicaId);
        for (const model of models) {
          const load = loadOfActivity(model, fallbackIntervalMs);
          if (load === undefined) continue;
          if (loads === undefined) replicas.set(session.replicaId, (loads = new Map()));
          loads.set(model.model, addLoad(loads.get(model.model), load));
        }
      };
      // The backend's word on each replica's gRPC endpoint: server -> replica -> "host:port".
      const grpcByReplica = new Map<string, ReadonlyMap<string, string>>();
      const httpEndpoints = (serverId: string): string[] =>
        [...new Set([...(sessions.get(serverId) ?? [])].map((s) => s.endpoint).filter((e) => e !== ""))].sort();
      // Generations only grow, across restarts too: start from the clock.
      let generation = yield* Clock.currentTimeMillis;

      const sendTo = (serverId: string, snapshot: Snapshot, targets: Iterable<SidecarSession>, leases = desiredLeases(snapshot, serverId), key = desiredKey(leases)): void => {
        sent.set(serverId, sentFrom(snapshot, serverId, key));
        const assignment: Assignment = { generation: ++generation, leases };
        for (const session of targets) {
          try {
            session.send(assignment);
          } catch {
            // A broken stream is detached by its own close handler.
          }
        }
      };

      const syncServer = (serverId: string, set: Iterable<SidecarSession>, snapshot: Snapshot): void => {
        const last = sent.get(serverId);
        // Records are never written in place: the same records mean the same desired state.
        if (last !== undefined && sameRecords(snapshot, serverId, last)) return;
        const leases = desiredLeases(snapshot, serverId);
        const key = desiredKey(leases);
        if (key !== last?.key) sendTo(serverId, snapshot, set, leases, key);
        else sent.set(serverId, sentFrom(snapshot, serverId, key));
      };

      // The servers commits touched since the last sync: sync looks at those alone, not at every
      // connected server (a fleet of bespoke servers made that quadratic). The hub reads the
      // commits itself.
      const commits = yield* engine.subscribe;
      const touched = new Set<string>();
      let lastFullPass = 0;
      const markTouched = (commit: Commit): void => {
        const event = commit.event as { readonly serverId?: unknown };
        if (typeof event.serverId === "string") touched.add(event.serverId);
        for (const intent of commit.result.intents) if ("serverId" in intent) touched.add(intent.serverId);
        for (const change of commit.result.changes) {
          for (const state of [commit.before, commit.result.snapshot]) {
            const serverId = state.leases[change.leaseId]?.placement?.serverId;
            if (serverId !== undefined) touched.add(serverId);
          }
        }
      };
      const syncTouched = Effect.gen(function* () {
        for (const commit of yield* Queue.takeAll(commits)) markTouched(commit);
        // The newest state: it includes every commit drained, some maybe newer than a caller's.
        const latest = engine.snapshot();
        const now = yield* Clock.currentTimeMillis;
        if (now - lastFullPass >= FULL_PASS_EVERY_MS) {
          // The safety net: every connected server, checked cheaply (sameRecords), about once a second.
          lastFullPass = now;
          touched.clear();
          for (const [serverId, set] of sessions) syncServer(serverId, set, latest);
          return;
        }
        for (const serverId of touched) {
          const set = sessions.get(serverId);
          if (set !== undefined) syncServer(serverId, set, latest);
        }
        touched.clear();
      });
      // Every commit is synced here even if nobody calls sync; the executor's call after a commit
      // then finds little or nothing left to do.
      yield* Queue.take(commits).pipe(
        Effect.map(markTouched),
        Effect.zipRight(syncTouched),
        Effect.forever,
        Effect.forkScoped,
      );

      const submitQuietly = (event: Event) =>
        engine.submit(event).pipe(
          Effect.tap((s) =>
            s.result.rejections.length > 0 ? logDebug("sidecar report not applied", { rejection: s.result.rejections[0]!.message }) : Effect.void,
          ),
          Effect.catchAll((error) => logWarn("sidecar report not stored", { error: error.message })),
          Effect.asVoid,
        );

      const hub: SidecarHubShape = {
        attach: (session) =>
          Effect.gen(function* () {
            let set = sessions.get(session.serverId);
            if (set === undefined) sessions.set(session.serverId, (set = new Set()));
            set.add(session);
            yield* logInfo("sidecar connected", { serverId: session.serverId, replicaId: session.replicaId, endpoint: session.endpoint });
            sendTo(session.serverId, engine.snapshot(), [session]);
          }),
        detach: (session) =>
          Effect.gen(function* () {
            const set = sessions.get(session.serverId);
            if (set?.delete(session)) yield* logInfo("sidecar disconnected", { serverId: session.serverId, replicaId: session.replicaId });
            if (set?.size === 0) {
              sessions.delete(session.serverId);
              // Nobody left to send to; a sidecar that connects again is sent its state in full.
              sent.delete(session.serverId);
            }
          }),
        report: (session, report) =>
          Effect.gen(function* () {
            const at = yield* Clock.currentTimeMillis;
            const snapshot = engine.snapshot();
            if ("lease" in report && report.lease !== undefined) {
              const status = report.lease;
              const lease = snapshot.leases[status.lease_id];
              // Only a lease waiting for its models on this very server moves; a report from
              // before a restart or for a lease since moved elsewhere changes nothing.
              const waiting = lease?.phase === "Loading" && lease.placement?.serverId === session.serverId && lease.placement.assigned;
              if (!waiting) return;
              if ("loaded" in status && status.loaded !== undefined && (status.state === undefined || status.state === "loaded")) {
                yield* submitQuietly({
                  _tag: "ModelsLoaded",
                  at,
                  serverId: session.serverId,
                  leaseId: status.lease_id,
                  measuredMemory: Math.max(0, status.loaded.measured_memory_bytes),
                  ...(status.loaded.load_time_ms > 0 ? { loadTime: status.loaded.load_time_ms } : {}),
                });
              } else if ("failed" in status && status.failed !== undefined && (status.state === undefined || status.state === "failed")) {
                const error = status.failed.model === "" ? status.failed.error : `${status.failed.model}: ${status.failed.error}`;
                yield* submitQuietly({ _tag: "ModelsFailed", at, serverId: session.serverId, leaseId: status.lease_id, error });
              }
              return;
            }
            if ("activity" in report && report.activity !== undefined) {
              for (const model of report.activity.models) {
                const requests = Math.max(model.execution_count_delta, model.inference_count_delta);
                if (requests > 0) yield* submitQuietly({ _tag: "Activity", at, model: model.model, requests });
              }
              const since = lastActivity.get(session);
              lastActivity.set(session, at);
              recordLoad(session, report.activity.models, since !== undefined && at > since ? at - since : undefined);
              return;
            }
            if ("health" in report && report.health !== undefined) {
              healths.set(session.serverId, { ready: report.health.ready, message: report.health.message, at });
            }
          }),
        sync: () => syncTouched,
        endpoints: (serverId) => httpEndpoints(serverId),
        grpcEndpoints: (serverId) => {
          const connected = [...(sessions.get(serverId) ?? [])];
          const grpc = grpcByReplica.get(serverId);
          return httpEndpoints(serverId).map((http) => {
            const replica = connected.find((s) => s.endpoint === http)?.replicaId;
            return (replica === undefined ? undefined : grpc?.get(replica)) ?? "";
          });
        },
        replicasObserved: (serverId, replicas) => {
          const grpc = new Map(replicas.flatMap((r) => (r.grpc === undefined || r.grpc === "" ? [] : [[r.replicaId, r.grpc] as const])));
          if (grpc.size === 0) grpcByReplica.delete(serverId);
          else grpcByReplica.set(serverId, grpc);
        },
        sessions: (serverId) => sessions.get(serverId)?.size ?? 0,
        health: (serverId) => healths.get(serverId),
        observeMetrics: Effect.gen(function* () {
          const ended = periods;
          periods = new Map();
          if (ended.size === 0) return;
          const at = yield* Clock.currentTimeMillis;
          for (const event of metricSamples(engine.snapshot(), ended, at)) yield* submitQuietly(event);
        }),
      };
      yield* hub.observeMetrics.pipe(Effect.repeat(Schedule.spaced(Duration.millis(syncPeriod))), Effect.forkScoped);
      return hub;
    }),
  );
}
