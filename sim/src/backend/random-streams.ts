import { rngFromSeed, type Rng } from "@berth/core/random/rng";

/**
 * Separate random streams per purpose, all from the scenario's seed. Two runs that differ only
 * in policy then see the same arrivals, start-up times and failures (common random numbers),
 * so their difference is the policy's doing.
 */
export interface RandomStreams {
  readonly workload: Rng;
  readonly requests: Rng;
  readonly startup: Rng;
  readonly loads: Rng;
  readonly failures: Rng;
  /** The seed handed to decide's own Rng (tie-breaking, random placement). */
  readonly decideSeed: number;
}

const mix = (seed: number, salt: number): number => {
  // splitmix32-style scramble so nearby seeds give unrelated streams
  let h = (seed ^ Math.imul(salt, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
};

export const randomStreams = (seed: number): RandomStreams => ({
  workload: rngFromSeed(mix(seed, 1)),
  requests: rngFromSeed(mix(seed, 2)),
  startup: rngFromSeed(mix(seed, 3)),
  loads: rngFromSeed(mix(seed, 4)),
  failures: rngFromSeed(mix(seed, 5)),
  decideSeed: mix(seed, 6),
});
