import { Effect, FiberSet, Option, Queue } from "effect";

// One lane per server: its work runs in order (ensure before scale before delete), servers in
// parallel. A lane ends after work marked `last` (a DeleteServer) that left nothing queued
// behind it: server ids are never reused, so a fleet's churn would otherwise keep a fiber and a
// queue for every server ever made.

interface LaneWork {
  readonly work: Effect.Effect<void>;
  readonly last: boolean;
}

export interface Lanes {
  /** Runs `work` after the work queued for `key` before it; `last` ends the lane if nothing follows. */
  readonly enqueue: (key: string, work: Effect.Effect<void>, last?: boolean) => Effect.Effect<void>;
  /** The lanes running now. */
  readonly size: () => number;
}

/** Lanes whose fibers run in `fibers` (they end with its scope). */
export const makeLanes = (fibers: FiberSet.FiberSet): Lanes => {
  const lanes = new Map<string, Queue.Queue<LaneWork>>();
  const runLane = (key: string, lane: Queue.Queue<LaneWork>) =>
    Effect.gen(function* () {
      for (;;) {
        const item = yield* Queue.take(lane);
        yield* item.work;
        // Checked and removed in one synchronous step: an enqueue either found this lane in the
        // map and offered to it synchronously (so it is not empty), or finds no lane and makes one.
        const done = item.last && (yield* Effect.sync(() => Option.getOrElse(lane.unsafeSize(), () => 0) === 0 && lanes.delete(key)));
        if (done) return yield* Queue.shutdown(lane);
      }
    });
  const enqueue = (key: string, work: Effect.Effect<void>, last = false): Effect.Effect<void> =>
    Effect.gen(function* () {
      if (lanes.get(key)?.unsafeOffer({ work, last })) return;
      const lane = yield* Queue.unbounded<LaneWork>();
      // Another enqueue may have made the lane meanwhile: one lane per key, always.
      if (lanes.get(key)?.unsafeOffer({ work, last })) return yield* Queue.shutdown(lane);
      lanes.set(key, lane);
      lane.unsafeOffer({ work, last });
      yield* FiberSet.run(fibers, runLane(key, lane));
    });
  return { enqueue, size: () => lanes.size };
};
