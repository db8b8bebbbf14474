// retryingStart without an engine: a start that fails Unavailable a few times, then succeeds.
// The backend is there at once, answers Unavailable (with the start's error) while it retries,
// closes what each failed try opened, and is the started backend afterwards; a failure that
// retrying cannot help fails at once.
import { Chunk, Effect, Fiber, Ref, Schedule, Scope, Stream, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import type { BackendCapabilities, BackendShape } from "../src/backend.js";
import { backendError, type BackendError, type BackendErrorReason } from "../src/errors.js";
import type { ObservedServer, ServerObservation } from "../src/observation.js";
import { retryingStart } from "../src/retrying-start.js";
import type { ServerSpec } from "../src/spec.js";

const NAME = "fake";
const capabilities: BackendCapabilities = { gpus: false, images: "oci", adoption: true, nodes: "one" };
const server = (serverId: string): ObservedServer => ({ serverId, image: "img", labels: {}, desiredReplicas: 1, replicas: [] });

const started: BackendShape = {
  name: NAME,
  capabilities,
  ensureServer: (spec) => Effect.succeed(server(spec.serverId)),
  scale: (serverId) => Effect.succeed(server(serverId)),
  deleteServer: () => Effect.void,
  list: () => Effect.succeed([server("adopted")]),
  watch: () => Stream.make<ServerObservation[]>({ _tag: "Observed", server: server("adopted") }),
};

/** A start failing with `reason` for its first `failures` tries; each try registers a finalizer. */
const flakyStart = (failures: number, reason: BackendErrorReason) =>
  Effect.gen(function* () {
    const tries = yield* Ref.make(0);
    const closed = yield* Ref.make(0);
    const start = Effect.gen(function* () {
      yield* Effect.addFinalizer(() => Ref.update(closed, (n) => n + 1));
      const n = yield* Ref.updateAndGet(tries, (k) => k + 1);
      if (n <= failures) return yield* Effect.fail(backendError(NAME, reason));
      return started;
    });
    return { start, tries, closed };
  });

const spec = { serverId: "s1" } as ServerSpec;
const engineDown: BackendErrorReason = { _tag: "Unavailable", message: "engine at unix:///x.sock unreachable (ping): ENOENT" };
const fixed = Schedule.spaced("1 second");

const runTest = <A, E>(program: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(TestContext.TestContext)));

describe("retryingStart", () => {
  it("is the started backend itself when the first try succeeds", async () => {
    await runTest(
      Effect.gen(function* () {
        const { start, tries } = yield* flakyStart(0, engineDown);
        const backend = yield* retryingStart(start, { name: NAME, capabilities, leaseRouting: false, schedule: fixed });
        expect(backend).toBe(started);
        expect(yield* Ref.get(tries)).toBe(1);
      }),
    );
  });

  it("while the engine is away: Unavailable naming it, watch waiting; once it answers, the started backend", async () => {
    await runTest(
      Effect.gen(function* () {
        const { start, tries, closed } = yield* flakyStart(3, engineDown);
        const backend = yield* retryingStart(start, { name: NAME, capabilities, leaseRouting: false, schedule: fixed });
        expect(backend.name).toBe(NAME);
        expect(backend.capabilities).toBe(capabilities);
        expect(backend.leaseRouting).toBeUndefined();

        const calls: Effect.Effect<unknown, BackendError>[] = [backend.ensureServer(spec), backend.list(), backend.scale("s1", 2), backend.deleteServer("s1")];
        for (const call of calls) {
          const error = yield* Effect.flip(call).pipe(Effect.orDie);
          expect(error.reason._tag).toBe("Unavailable");
          expect(error.message).toContain("engine at unix:///x.sock unreachable");
        }
        const watched = yield* Effect.fork(Stream.runCollect(Stream.take(backend.watch(), 1)));
        yield* TestClock.adjust("1 second");
        // Three tries have failed (the first, one at once in the background, one a second later), each one's scope closed.
        expect(yield* Ref.get(tries)).toBe(3);
        expect(yield* Ref.get(closed)).toBe(3);
        expect((yield* Fiber.poll(watched))._tag).toBe("None");
        expect((yield* Effect.flip(backend.list())).message).toContain("not started yet, retrying");

        yield* TestClock.adjust("1 second");
        expect(yield* Ref.get(tries)).toBe(4);
        // The successful try's scope stays open: its resources live as long as the backend.
        expect(yield* Ref.get(closed)).toBe(3);
        expect(yield* backend.list()).toEqual([server("adopted")]);
        expect((yield* backend.ensureServer(spec)).serverId).toBe("s1");
        expect(Chunk.toReadonlyArray(yield* Fiber.join(watched))).toEqual([{ _tag: "Observed", server: server("adopted") }]);
      }),
    );
  });

  it("a failure retrying cannot help (a bad configuration) fails at once, without retries", async () => {
    await runTest(
      Effect.gen(function* () {
        const { start, tries } = yield* flakyStart(1, { _tag: "InvalidConfig", problems: ["socketPath: empty"] });
        const error = yield* Effect.flip(retryingStart(start, { name: NAME, capabilities, leaseRouting: false, schedule: fixed }));
        expect(error.reason._tag).toBe("InvalidConfig");
        yield* TestClock.adjust("10 seconds");
        expect(yield* Ref.get(tries)).toBe(1);
      }),
    );
  });

  it("forwards lease routing once started when the backend has it", async () => {
    await runTest(
      Effect.gen(function* () {
        const routes = yield* Ref.make<string[]>([]);
        const routed: BackendShape = {
          ...started,
          leaseRouting: {
            autoscaling: "builtin",
            ensureLeaseRoute: (lease) => Ref.update(routes, (r) => [...r, lease]),
            deleteLeaseRoute: () => Effect.void,
            leaseRoutes: () => Ref.get(routes),
            setLeaseMember: () => Effect.void,
          },
        };
        const tries = yield* Ref.make(0);
        const start = Ref.updateAndGet(tries, (k) => k + 1).pipe(Effect.flatMap((n) => (n <= 2 ? Effect.fail(backendError(NAME, engineDown)) : Effect.succeed(routed))));
        const backend = yield* retryingStart(start, { name: NAME, capabilities, leaseRouting: true, schedule: fixed });
        expect((yield* Effect.flip(backend.leaseRouting!.ensureLeaseRoute("chat", ["s1"]))).reason._tag).toBe("Unavailable");
        yield* TestClock.adjust("1 second");
        yield* backend.leaseRouting!.ensureLeaseRoute("chat", ["s1"]);
        expect(yield* backend.leaseRouting!.leaseRoutes()).toEqual(["chat"]);
      }),
    );
  });
});
