import { Deferred, Effect, FiberSet } from "effect";
import { describe, expect, it } from "vitest";
import { makeLanes } from "../../src/executor/lanes.js";

// The executor's lanes: work for one server in order, servers in parallel, and a lane ends
// after its last work (the server's DeleteServer) when nothing was queued behind it.

const run = <A>(body: (fibers: FiberSet.FiberSet) => Effect.Effect<A>) => Effect.runPromise(Effect.scoped(Effect.flatMap(FiberSet.make(), body)));

describe("executor lanes", () => {
  it("run one server's work in order, other servers' beside it, and end a lane after its last work", () =>
    run((fibers) =>
      Effect.gen(function* () {
        const lanes = makeLanes(fibers);
        const seen: string[] = [];
        const gate = yield* Deferred.make<void>();
        // srv-a's first work waits on the gate: its next work must wait too, srv-b's must not.
        yield* lanes.enqueue("srv-a", Deferred.await(gate).pipe(Effect.zipRight(Effect.sync(() => seen.push("a1")))));
        yield* lanes.enqueue("srv-a", Effect.sync(() => seen.push("a2")), true);
        yield* lanes.enqueue("srv-b", Effect.sync(() => seen.push("b1")), true);
        yield* Effect.yieldNow().pipe(Effect.repeatN(20));
        expect(seen).toEqual(["b1"]);
        expect(lanes.size()).toBe(1);
        yield* Deferred.succeed(gate, undefined);
        yield* Effect.yieldNow().pipe(Effect.repeatN(20));
        expect(seen).toEqual(["b1", "a1", "a2"]);
        expect(lanes.size()).toBe(0);
      }),
    ));

  it("keeps a lane whose last work has more queued behind it, and runs work queued after a lane ended", () =>
    run((fibers) =>
      Effect.gen(function* () {
        const lanes = makeLanes(fibers);
        const seen: string[] = [];
        const gate = yield* Deferred.make<void>();
        yield* lanes.enqueue("srv-a", Deferred.await(gate).pipe(Effect.zipRight(Effect.sync(() => seen.push("delete")))), true);
        yield* lanes.enqueue("srv-a", Effect.sync(() => seen.push("after")));
        yield* Deferred.succeed(gate, undefined);
        yield* Effect.yieldNow().pipe(Effect.repeatN(20));
        expect(seen).toEqual(["delete", "after"]);
        // "after" was not last: the lane stays until a last work ends it.
        expect(lanes.size()).toBe(1);
        yield* lanes.enqueue("srv-a", Effect.sync(() => seen.push("delete again")), true);
        yield* Effect.yieldNow().pipe(Effect.repeatN(20));
        expect(lanes.size()).toBe(0);
        yield* lanes.enqueue("srv-a", Effect.sync(() => seen.push("new lane")));
        yield* Effect.yieldNow().pipe(Effect.repeatN(20));
        expect(seen).toEqual(["delete", "after", "delete again", "new lane"]);
        expect(lanes.size()).toBe(1);
      }),
    ));
});
