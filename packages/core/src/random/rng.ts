/**
 * A seeded random source. The core never uses Math.random: every policy that needs
 * randomness is handed an Rng, so a run is reproducible from its seed.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** The generator's state, to store in a snapshot and resume from. */
  state(): number;
}

/** mulberry32: small, fast, and good enough for simulation and tie-breaking. */
export const rngFromSeed = (seed: number): Rng => {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    state: () => a,
  };
};
