import { Duration, Effect, Either, FiberSet, Layer, PubSub, Stream } from "effect";
import { Backend, type BackendShape } from "@berth/backends/backend";
import { backendError } from "@berth/backends/errors";
import type { ObservedReplica, ObservedServer, ServerObservation } from "@berth/backends/observation";
import { placementOf, replicaId, validateServerSpec, type ServerSpec } from "@berth/backends/spec";
import type { Assignment } from "@berth/api/sidecar";
import { Engine } from "../engine/engine.js";
import { SidecarHub, type SidecarSession } from "./sidecar-hub.js";

export const SIM_BACKEND_NAME = "sim";

export interface SimBackendOptions {
  /** How long a replica takes to become Ready. */
  readonly startup: number;
  /** How long its sidecar takes to load a newly assigned lease. */
  readonly load: number;
  /** Models whose name contains this fail to load. */
  readonly failModelsMatching?: string;
}

interface SimServer {
  spec: ServerSpec;
  desired: number;
  replicas: ObservedReplica[];
  sessions: SidecarSession[];
}

/**
 * Servers that exist only inside berthd: a replica is Ready `startup` after it is asked for,
 * and its sidecar (a real SidecarHub session, not a gRPC stream) reports each assigned lease
 * Loaded `load` later, measuring the memory decide expected. For fast end-to-end API tests and
 * demos without processes; the executor and hub paths are the same as for real servers.
 */
export const simBackendLayer = (options: SimBackendOptions): Layer.Layer<Backend, never, SidecarHub | Engine> =>
  Layer.scoped(
    Backend,
    Effect.gen(function* () {
      const hub = yield* SidecarHub;
      const engine = yield* Engine;
      const servers = new Map<string, SimServer>();
      const changes = yield* PubSub.unbounded<ServerObservation>();
      const fibers = yield* FiberSet.make();
      const run = yield* FiberSet.runtime(fibers)<never>();

      const observed = (id: string, s: SimServer): ObservedServer => ({
        serverId: id,
        image: s.spec.image,
        labels: { ...s.spec.labels, "berth.dev/managed-by": "berthd", "berth.dev/server-id": id },
        desiredReplicas: s.desired,
        replicas: s.replicas.map((r) => ({ ...r })),
      });
      const publish = (id: string) => {
        const s = servers.get(id);
        const observation: ServerObservation = s === undefined ? { _tag: "Gone", serverId: id } : { _tag: "Observed", server: observed(id, s) };
        return PubSub.publish(changes, observation);
      };

      const sidecarFor = (id: string, index: number): SidecarSession => {
        const loaded = new Set<string>();
        const session: SidecarSession = {
          serverId: id,
          replicaId: replicaId(id, index),
          endpoint: `sim://${id}/${index}`,
          send: (assignment: Assignment) => {
            for (const lease of assignment.leases) {
              if (loaded.has(lease.lease_id)) continue;
              loaded.add(lease.lease_id);
              const failing = options.failModelsMatching !== undefined && lease.models.find((m) => m.name.includes(options.failModelsMatching!));
              run(
                Effect.sleep(Duration.millis(options.load)).pipe(
                  Effect.zipRight(
                    Effect.suspend(() =>
                      hub.report(
                        session,
                        failing
                          ? { lease: { lease_id: lease.lease_id, generation: assignment.generation, failed: { model: failing.name, error: "simulated load failure" } } }
                          : {
                              lease: {
                                lease_id: lease.lease_id,
                                generation: assignment.generation,
                                loaded: { measured_memory_bytes: engine.snapshot().leases[lease.lease_id]?.memory ?? 0, load_time_ms: options.load, models: [] },
                              },
                            },
                      ),
                    ),
                  ),
                ),
              );
            }
            const keep = new Set(assignment.leases.map((l) => l.lease_id));
            for (const id of loaded) if (!keep.has(id)) loaded.delete(id);
          },
        };
        return session;
      };

      const startReplica = (id: string, index: number) =>
        run(
          Effect.sleep(Duration.millis(options.startup)).pipe(
            Effect.zipRight(
              Effect.gen(function* () {
                const s = servers.get(id);
                const replica = s?.replicas[index];
                if (s === undefined || replica === undefined || replica.state !== "Starting") return;
                s.replicas[index] = { ...replica, state: "Ready", endpoints: { http: `sim://${id}/${index}`, grpc: `sim://${id}/${index}` } };
                yield* publish(id);
                const session = sidecarFor(id, index);
                s.sessions.push(session);
                yield* hub.attach(session);
              }),
            ),
          ),
        );

      const converge = (id: string, s: SimServer) =>
        Effect.gen(function* () {
          while (s.replicas.length > s.desired) {
            const gone = s.replicas.pop()!;
            const session = s.sessions.find((x) => x.replicaId === gone.replicaId);
            if (session !== undefined) {
              s.sessions = s.sessions.filter((x) => x !== session);
              yield* hub.detach(session);
            }
          }
          while (s.replicas.length < s.desired) {
            const index = s.replicas.length;
            s.replicas.push({ replicaId: replicaId(id, index), index, state: "Starting", placement: placementOf(s.spec, index), restarts: 0 });
            startReplica(id, index);
          }
          yield* publish(id);
          return observed(id, s);
        });

      const backend: BackendShape = {
        name: SIM_BACKEND_NAME,
        capabilities: { gpus: true, images: "process", adoption: false, nodes: "many" },
        ensureServer: (input) =>
          Effect.gen(function* () {
            const valid = validateServerSpec(input);
            if (Either.isLeft(valid)) return yield* Effect.fail(backendError(SIM_BACKEND_NAME, { _tag: "InvalidSpec", problems: valid.left }));
            const spec = valid.right;
            let s = servers.get(spec.serverId);
            if (s === undefined) servers.set(spec.serverId, (s = { spec, desired: spec.replicas, replicas: [], sessions: [] }));
            else {
              s.spec = spec;
              s.desired = spec.replicas;
            }
            return yield* converge(spec.serverId, s);
          }),
        scale: (serverId, replicas, placements) =>
          Effect.gen(function* () {
            const s = servers.get(serverId);
            if (s === undefined) return yield* Effect.fail(backendError(SIM_BACKEND_NAME, { _tag: "NotFound", serverId }));
            s.desired = replicas;
            if (placements !== undefined) s.spec = { ...s.spec, placements };
            return yield* converge(serverId, s);
          }),
        deleteServer: (serverId) =>
          Effect.gen(function* () {
            const s = servers.get(serverId);
            if (s === undefined) return;
            servers.delete(serverId);
            for (const session of s.sessions) yield* hub.detach(session);
            yield* publish(serverId);
          }),
        list: () => Effect.sync(() => [...servers].map(([id, s]) => observed(id, s))),
        watch: () =>
          Stream.unwrapScoped(
            Effect.gen(function* () {
              const queue = yield* PubSub.subscribe(changes);
              const now: ServerObservation[] = [...servers].map(([id, s]) => ({ _tag: "Observed", server: observed(id, s) }));
              return Stream.concat(Stream.fromIterable(now), Stream.fromQueue(queue));
            }),
          ),
      };
      return backend;
    }),
  );
