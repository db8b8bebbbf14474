import { Deferred, Effect, FiberSet } from "effect";
import { describe, expect, it } from "vitest";
import { makeLanes } from "../../src/executor/lanes.js";

// The executor's lanes: work for one server in order, servers in parallel, and a lane only
// while it has work (an idle lane would hold a fiber per server of the fleet).

const run = <A>(body: (fibers: FiberSet.FiberSet) => Effect.Effect<A>) => Effect.runPromise(Effect.scoped(Effect.flatMap(FiberSet.make(), body)));
const settle = Effect.yieldNow().pipe(Effect.repeatN(20));

describe("executor lanes", () => {
  it("run one server's work in order, other servers' beside it, and end each lane when it drains", () =>
    run((fibers) =>
      Effect.gen(function* () {
        const lanes = makeLanes(fibers);
        const seen: string[] = [];
        const gate = yield* Deferred.make<void>();
        // srv-a's first work waits on the gate: its next work must wait too, srv-b's must not.
        yield* lanes.enqueue("srv-a", Deferred.await(gate).pipe(Effect.zipRight(Effect.sync(() => seen.push("a1")))));
        yield* lanes.enqueue("srv-a", Effect.sync(() => seen.push("a2")));
        yield* lanes.enqueue("srv-b", Effect.sync(() => seen.push("b1")));
        yield* settle;
        expect(seen).toEqual(["b1"]);
        expect(lanes.size()).toBe(1);
        yield* Deferred.succeed(gate, undefined);
        yield* settle;
        expect(seen).toEqual(["b1", "a1", "a2"]);
        expect(lanes.size()).toBe(0);
      }),
    ));

  it("runs work queued while a lane runs in the same lane, and work after a lane ended in a new one, in order", () =>
    run((fibers) =>
      Effect.gen(function* () {
        const lanes = makeLanes(fibers);
        const seen: string[] = [];
        const gate = yield* Deferred.make<void>();
        yield* lanes.enqueue("srv-a", Deferred.await(gate).pipe(Effect.zipRight(Effect.sync(() => seen.push("ensure")))));
        // Queued from inside the running work, as a retry's follow-up would be.
        yield* lanes.enqueue("srv-a", Effect.zipRight(Effect.sync(() => seen.push("scale")), lanes.enqueue("srv-a", Effect.sync(() => seen.push("delete")))));
        yield* Deferred.succeed(gate, undefined);
        yield* settle;
        expect(seen).toEqual(["ensure", "scale", "delete"]);
        expect(lanes.size()).toBe(0);
        yield* lanes.enqueue("srv-a", Effect.sync(() => seen.push("new lane")));
        yield* settle;
        expect(seen).toEqual(["ensure", "scale", "delete", "new lane"]);
        expect(lanes.size()).toBe(0);
      }),
    ));

  it("keeps no fiber for a fleet of idle servers", () =>
    run((fibers) =>
      Effect.gen(function* () {
        const lanes = makeLanes(fibers);
        for (let i = 0; i < 1_000; i++) yield* lanes.enqueue(`srv-${i}`, Effect.void);
        yield* settle;
        expect(lanes.size()).toBe(0);
        expect(yield* FiberSet.size(fibers)).toBe(0);
      }),
    ));
});
