import type { Rng } from "../random/rng.js";
import type { ReplicaLoad, ReplicaPicker } from "./types.js";

// Power of two choices (Mitzenmacher): sample two distinct replicas, send to the one with fewer
// outstanding requests. Nearly as good as least-outstanding over all replicas, without reading
// every replica's load, and it spreads ties instead of herding onto one replica.

export const POWER_OF_TWO_PICKER_NAME = "power-of-two";

export const pickPowerOfTwo = (replicas: readonly ReplicaLoad[], rng: Rng): number => {
  const n = replicas.length;
  if (n === 0) throw new RangeError("power-of-two: no replicas to pick from");
  if (n === 1) return 0;
  const a = rng.int(n);
  // A second index uniform over the others: draw from n-1 and skip `a`.
  let b = rng.int(n - 1);
  if (b >= a) b++;
  // Ties go to the first sampled.
  return replicas[b].outstanding < replicas[a].outstanding ? b : a;
};

export const powerOfTwoPicker = (): ReplicaPicker => ({
  name: POWER_OF_TWO_PICKER_NAME,
  pick: (replicas, rng, cursor) => ({ index: pickPowerOfTwo(replicas, rng), cursor }),
});
