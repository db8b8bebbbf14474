import { Effect, FiberSet, Option, Queue } from "effect";

// One lane per server: its work runs in order (ensure before scale before delete), servers in
// parallel. A lane lives only while it has work: it ends as soon as its queue drains, and the
// next work for that server starts a new one. A fleet's servers are mostly idle, and an idle
// lane (a fiber waiting on its queue) held ~8 KB: 87 MB of berthd's 180 MB live heap with
// 10,000 servers (heap snapshot, `npm run bench:api`).

export interface Lanes {
  /** Runs `work` after the work queued for `key` before it. */
  readonly enqueue: (key: string, work: Effect.Effect<void>) => Effect.Effect<void>;
  /** The lanes running now (servers with work queued or running). */
  readonly size: () => number;
}

/** Lanes whose fibers run in `fibers` (they end with its scope). */
export const makeLanes = (fibers: FiberSet.FiberSet): Lanes => {
  const lanes = new Map<string, Queue.Queue<Effect.Effect<void>>>();
  const runLane = (key: string, lane: Queue.Queue<Effect.Effect<void>>) =>
    Effect.gen(function* () {
      for (;;) {
        yield* yield* Queue.take(lane);
        // Checked and removed in one synchronous step: an enqueue either found this lane in the
        // map and offered to it synchronously (so it is not empty), or finds no lane and makes one.
        const drained = yield* Effect.sync(() => Option.getOrElse(lane.unsafeSize(), () => 0) === 0 && lanes.delete(key));
        if (drained) return yield* Queue.shutdown(lane);
      }
    });
  const enqueue = (key: string, work: Effect.Effect<void>): Effect.Effect<void> =>
    Effect.gen(function* () {
      if (lanes.get(key)?.unsafeOffer(work)) return;
      const lane = yield* Queue.unbounded<Effect.Effect<void>>();
      // Another enqueue may have made the lane meanwhile: one lane per key, always.
      if (lanes.get(key)?.unsafeOffer(work)) return yield* Queue.shutdown(lane);
      lanes.set(key, lane);
      lane.unsafeOffer(work);
      yield* FiberSet.run(fibers, runLane(key, lane));
    });
  return { enqueue, size: () => lanes.size };
};
