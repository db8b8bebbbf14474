import type { ReplicaPicker } from "./types.js";

// Round robin: the baseline that ignores load. The cursor is plain data so the router's state
// can live in a snapshot; it is taken modulo the current count, so replicas coming and going
// never push it out of range.

export const ROUND_ROBIN_PICKER_NAME = "round-robin";

export const roundRobinPicker = (): ReplicaPicker => ({
  name: ROUND_ROBIN_PICKER_NAME,
  pick: (replicas, _rng, cursor) => {
    const n = replicas.length;
    if (n === 0) throw new RangeError("round-robin: no replicas to pick from");
    const index = ((Math.trunc(cursor) % n) + n) % n;
    return { index, cursor: index + 1 };
  },
});
