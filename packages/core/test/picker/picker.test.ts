import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pickPowerOfTwo } from "../../src/picker/power-of-two.js";
import { isReplicaPickerName, replicaPickers } from "../../src/picker/registry.js";
import { rngFromSeed, type Rng } from "../../src/random/rng.js";
import type { ReplicaLoad } from "../../src/picker/types.js";

const replicas = (loads: readonly number[]): ReplicaLoad[] => loads.map((outstanding, i) => ({ id: `r${i}`, outstanding }));

/** An Rng that remembers the integers it handed out. */
const recording = (seed: number): Rng & { ints: number[] } => {
  const inner = rngFromSeed(seed);
  const ints: number[] = [];
  return { next: () => inner.next(), int: (n) => { const v = inner.int(n); ints.push(v); return v; }, state: () => inner.state(), ints };
};

describe("power-of-two choices", () => {
  it("picks the less loaded of the two distinct replicas it samples, ties to the first", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(20), { minLength: 2, maxLength: 12 }), fc.integer(), (loads, seed) => {
        const rng = recording(seed);
        const picked = pickPowerOfTwo(replicas(loads), rng);
        const [a, rawB] = rng.ints;
        const b = rawB >= a ? rawB + 1 : rawB;
        expect(a).not.toBe(b);
        expect([a, b]).toContain(picked);
        const other = picked === a ? b : a;
        expect(loads[picked]).toBeLessThanOrEqual(loads[other]);
        if (loads[a] === loads[b]) expect(picked).toBe(a);
      }),
    );
  });

  it("almost never sends to a hugely loaded replica, and spreads evenly among equal ones", () => {
    const n = 8;
    const loads = replicas([1000, 0, 0, 0, 0, 0, 0, 0]);
    const rng = rngFromSeed(42);
    const counts = new Array<number>(n).fill(0);
    const picks = 16_000;
    for (let k = 0; k < picks; k++) counts[pickPowerOfTwo(loads, rng)]++;
    // The heavy replica wins only against itself, which two distinct samples never are.
    expect(counts[0] / picks).toBeLessThan(0.1 / n);
    for (let i = 1; i < n; i++) expect(Math.abs(counts[i] / picks - 1 / (n - 1))).toBeLessThan(0.02);
  });

  it("handles one replica and refuses none", () => {
    expect(pickPowerOfTwo(replicas([5]), rngFromSeed(1))).toBe(0);
    expect(() => pickPowerOfTwo([], rngFromSeed(1))).toThrow(RangeError);
  });
});

describe("round robin", () => {
  it("cycles through the replicas in order, whatever their load", () => {
    const p = replicaPickers["round-robin"]();
    const rs = replicas([9, 0, 3]);
    let cursor = 0;
    const seen: number[] = [];
    for (let k = 0; k < 7; k++) {
      const r = p.pick(rs, rngFromSeed(1), cursor);
      seen.push(r.index);
      cursor = r.cursor;
    }
    expect(seen).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  it("stays in range when replicas go away", () => {
    const p = replicaPickers["round-robin"]();
    expect(p.pick(replicas([0, 0]), rngFromSeed(1), 7).index).toBe(1);
  });
});

describe("picker registry", () => {
  it("maps names to pickers", () => {
    expect(isReplicaPickerName("power-of-two")).toBe(true);
    expect(isReplicaPickerName("random")).toBe(false);
    expect(replicaPickers["power-of-two"]().name).toBe("power-of-two");
    expect(replicaPickers["round-robin"]().name).toBe("round-robin");
  });
});
