// The conformance suite every backend runs from its own tests:
//   runBackendConformance("docker", () => layerDocker(config), { spec: (id) => ({ ... }) })
// It drives the Backend API only (plus the optional hooks a backend's test provides) and
// checks what the README promises: readiness, idempotency, scaling, restart after a crash,
// deletion, adoption, validation and start failures. Every server it creates is deleted.
import { randomBytes } from "node:crypto";
import { Duration, Effect, Fiber, type Layer, Ref, Stream } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { awaitReady, awaitServer, serverStates } from "./await.js";
import { Backend, type BackendShape } from "./backend.js";
import type { BackendError } from "./errors.js";
import type { ObservedReplica, ObservedServer, ReplicaState } from "./observation.js";
import type { ServerSpec } from "./spec.js";

export interface ConformanceOptions {
  /** A spec this backend can run, with the given server id (its replica count is overridden). */
  readonly spec: (serverId: string) => ServerSpec;
  /** A spec whose replicas cannot start, and a string that must appear in the failure's log tail. */
  readonly failingSpec?: (serverId: string) => { readonly spec: ServerSpec; readonly logContains: string };
  /** Crash one replica from outside (SIGKILL the process, kill the container, delete the pod). */
  readonly killReplica?: (replica: ObservedReplica, server: ObservedServer) => Promise<void>;
  /** How long a replica may take to become ready (default 90 s). */
  readonly readyTimeoutMs?: number;
  /** Prefix of the server ids the suite creates (default `conf`). */
  readonly idPrefix?: string;
}

const run = <A>(makeLayer: () => Layer.Layer<Backend, BackendError>, program: (backend: BackendShape) => Effect.Effect<A, BackendError>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Backend, program).pipe(Effect.provide(makeLayer()))));

/** KServe v2 readiness of a replica's HTTP endpoint, as a client sees it. */
async function readyStatus(replica: ObservedReplica): Promise<number> {
  if (replica.endpoints === undefined) return 0;
  const response = await fetch(`http://${replica.endpoints.http}/v2/health/ready`, { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
  return response.status;
}

/** The error an effect must fail with (a success is a test failure). */
const failureOf = <A>(effect: Effect.Effect<A, BackendError>): Effect.Effect<BackendError> =>
  Effect.flip(effect).pipe(Effect.orDieWith((value) => new Error(`expected a failure, got ${JSON.stringify(value)}`)));

const states = (server: ObservedServer | undefined): ReplicaState[] => server?.replicas.map((r) => r.state) ?? [];

export function runBackendConformance(name: string, makeLayer: () => Layer.Layer<Backend, BackendError>, options: ConformanceOptions): void {
  const readyMs = options.readyTimeoutMs ?? 90_000;
  const ready = Duration.millis(readyMs);
  const testTimeout = readyMs * 3 + 30_000;
  const prefix = `${options.idPrefix ?? "conf"}-${randomBytes(3).toString("hex")}`;
  let serial = 0;
  const freshId = (what: string): string => `${prefix}-${what}-${serial++}`;
  const specOf = (serverId: string, replicas: number): ServerSpec => ({ ...options.spec(serverId), serverId, replicas });
  /** Runs `body` with a server that is deleted afterwards, whatever happens. */
  const withServer = <A>(backend: BackendShape, serverId: string, body: Effect.Effect<A, BackendError>) =>
    body.pipe(Effect.ensuring(backend.deleteServer(serverId).pipe(Effect.ignore)));

  describe(`backend conformance: ${name}`, () => {
    afterAll(async () => {
      // Nothing leaks: whatever a failed test left behind is deleted.
      await run(makeLayer, (backend) =>
        Effect.gen(function* () {
          const left = (yield* backend.list()).filter((s) => s.serverId.startsWith(prefix));
          yield* Effect.forEach(left, (s) => backend.deleteServer(s.serverId), { discard: true });
        }),
      );
    }, testTimeout);

    it("ensureServer brings up a replica whose /v2/health/ready answers 200; ensuring again changes nothing", async () => {
      const id = freshId("ready");
      await run(makeLayer, (backend) =>
        withServer(
          backend,
          id,
          Effect.gen(function* () {
            const created = yield* backend.ensureServer(specOf(id, 1));
            expect(created.serverId).toBe(id);
            expect(created.desiredReplicas).toBe(1);
            const up = yield* awaitReady(backend, id, ready);
            expect(up.replicas).toHaveLength(1);
            expect(yield* Effect.promise(() => readyStatus(up.replicas[0]))).toBe(200);
            const again = yield* backend.ensureServer(specOf(id, 1));
            expect(again.replicas.map((r) => r.replicaId)).toEqual(up.replicas.map((r) => r.replicaId));
            const listed = (yield* backend.list()).filter((s) => s.serverId === id);
            expect(listed).toHaveLength(1);
            expect(listed[0].replicas).toHaveLength(1);
            expect(listed[0].replicas[0].state).toBe("Ready");
            expect(listed[0].replicas[0].endpoints).toEqual(up.replicas[0].endpoints);
          }),
        ),
      );
    }, testTimeout);

    it("scale 1 -> 2 -> 1 is observed", async () => {
      const id = freshId("scale");
      await run(makeLayer, (backend) =>
        withServer(
          backend,
          id,
          Effect.gen(function* () {
            yield* backend.ensureServer(specOf(id, 1));
            const one = yield* awaitReady(backend, id, ready);
            const two = yield* backend.scale(id, 2).pipe(Effect.zipRight(awaitReady(backend, id, ready)));
            expect(two.desiredReplicas).toBe(2);
            expect(two.replicas).toHaveLength(2);
            expect(new Set(two.replicas.map((r) => r.replicaId)).size).toBe(2);
            for (const r of two.replicas) expect(yield* Effect.promise(() => readyStatus(r))).toBe(200);
            yield* backend.scale(id, 1);
            const back = yield* awaitServer(backend, id, (s) => s?.replicas.length === 1 && s.replicas[0].state === "Ready", ready, "one Ready replica");
            expect(back!.desiredReplicas).toBe(1);
            // Scaling down keeps the first replica: it is the one that served all along.
            expect(back!.replicas[0].replicaId).toBe(one.replicas[0].replicaId);
          }),
        ),
      );
    }, testTimeout);

    // Skipped for a backend that gives no way to kill one replica from outside (an option of the suite).
    it.skipIf(options.killReplica === undefined)("a killed replica is observed Down, then Ready again after a restart", async () => {
      const id = freshId("crash");
      await run(makeLayer, (backend) =>
        withServer(
          backend,
          id,
          Effect.gen(function* () {
            yield* backend.ensureServer(specOf(id, 1));
            const up = yield* awaitReady(backend, id, ready);
            const before = up.replicas[0];
            const seen = yield* Ref.make<ReplicaState[]>([]);
            const watching = yield* serverStates(backend, id).pipe(
              Stream.runForEach((s) => Ref.update(seen, (all) => [...all, ...states(s).slice(0, 1)])),
              Effect.fork,
            );
            yield* Effect.promise(() => options.killReplica!(before, up));
            const again = yield* awaitServer(
              backend,
              id,
              (s) => s?.replicas[0]?.state === "Ready" && s.replicas[0].restarts > before.restarts,
              ready,
              "Ready after a restart",
            );
            yield* Fiber.interrupt(watching);
            const sequence = yield* Ref.get(seen);
            const down = sequence.indexOf("Down");
            expect(down, `states seen: ${sequence.join(" ")}`).toBeGreaterThanOrEqual(0);
            expect(sequence.lastIndexOf("Ready")).toBeGreaterThan(down);
            const replica = again!.replicas[0];
            expect(replica.replicaId).toBe(before.replicaId);
            expect(replica.lastError).toBeDefined();
            expect(yield* Effect.promise(() => readyStatus(replica))).toBe(200);
          }),
        ),
      );
    }, testTimeout);

    it("deleteServer removes the server and is idempotent; scaling an unknown server is NotFound", async () => {
      const id = freshId("delete");
      await run(makeLayer, (backend) =>
        Effect.gen(function* () {
          yield* backend.ensureServer(specOf(id, 1));
          const up = yield* awaitReady(backend, id, ready);
          yield* backend.deleteServer(id);
          yield* awaitServer(backend, id, (s) => s === undefined, ready, "gone");
          expect((yield* backend.list()).some((s) => s.serverId === id)).toBe(false);
          // Gone means gone: its endpoint stops answering.
          const status = yield* Effect.promise(() => readyStatus(up.replicas[0]).catch(() => 0));
          expect(status).not.toBe(200);
          yield* backend.deleteServer(id);
          const error = yield* failureOf(backend.scale(id, 2));
          expect(error.reason._tag).toBe("NotFound");
        }),
      );
    }, testTimeout);

    it("a new backend instance on the same state adopts running servers instead of duplicating them", async (ctx) => {
      const capable = await run(makeLayer, (backend) => Effect.succeed(backend.capabilities.adoption));
      if (!capable) return ctx.skip();
      const id = freshId("adopt");
      const first = await run(makeLayer, (backend) =>
        Effect.gen(function* () {
          yield* backend.ensureServer(specOf(id, 1));
          return yield* awaitReady(backend, id, ready);
        }),
      );
      await run(makeLayer, (backend) =>
        withServer(
          backend,
          id,
          Effect.gen(function* () {
            const listed = (yield* backend.list()).filter((s) => s.serverId === id);
            expect(listed).toHaveLength(1);
            expect(listed[0].replicas).toHaveLength(1);
            const up = yield* awaitReady(backend, id, ready);
            expect(up.replicas[0].replicaId).toBe(first.replicas[0].replicaId);
            // The same replica, not a new one: it never stopped answering where it was.
            expect(up.replicas[0].endpoints).toEqual(first.replicas[0].endpoints);
            expect(up.replicas[0].restarts).toBe(0);
            const again = yield* backend.ensureServer(specOf(id, 1));
            expect(again.replicas).toHaveLength(1);
            expect(yield* Effect.promise(() => readyStatus(up.replicas[0]))).toBe(200);
          }),
        ),
      );
    }, testTimeout);

    it("an invalid spec fails with InvalidSpec listing every problem, and creates nothing", async () => {
      await run(makeLayer, (backend) =>
        Effect.gen(function* () {
          const base = specOf(freshId("invalid"), 1);
          const error = yield* failureOf(backend.ensureServer({ ...base, serverId: "Not_A_Valid_Id", replicas: -1, gpus: [0, 0] }));
          expect(error._tag).toBe("BackendError");
          if (error.reason._tag !== "InvalidSpec") throw new Error(`expected InvalidSpec, got ${error.reason._tag}`);
          expect(error.reason.problems.length).toBeGreaterThanOrEqual(3);
          expect(error.reason.problems.join("\n")).toMatch(/serverId/);
          expect((yield* backend.list()).some((s) => s.serverId === "Not_A_Valid_Id")).toBe(false);
          const notObject = yield* failureOf(backend.ensureServer({} as ServerSpec));
          expect(notObject.reason._tag).toBe("InvalidSpec");
        }),
      );
    }, testTimeout);

    // Skipped for a backend that names no spec that cannot start (an option of the suite).
    it.skipIf(options.failingSpec === undefined)("a server that cannot start is StartFailed, with its log tail", async () => {
      const id = freshId("fails");
      const { spec, logContains } = options.failingSpec!(id);
      await run(makeLayer, (backend) =>
        withServer(
          backend,
          id,
          Effect.gen(function* () {
            const error = yield* failureOf(backend.ensureServer({ ...spec, serverId: id, replicas: 1 }).pipe(Effect.zipRight(awaitReady(backend, id, ready))));
            if (error.reason._tag !== "StartFailed") throw new Error(`expected StartFailed, got ${error.message}`);
            expect(error.reason.logTail).toContain(logContains);
            const listed = (yield* backend.list()).find((s) => s.serverId === id);
            expect(listed?.replicas[0].state).toBe("Failed");
            expect(listed?.replicas[0].lastError?.logTail).toContain(logContains);
          }),
        ),
      );
    }, testTimeout);
  });
}
