import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventQueue, Simulation } from "../src/engine/index.js";

describe("EventQueue", () => {
  it("pops in (time, priority, insertion) order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 })), { maxLength: 200 }), (entries) => {
        const q = new EventQueue<number>();
        entries.forEach(([t, p], i) => q.push(t, p, i));
        const expected = entries.map(([t, p], i) => ({ t, p, i })).sort((a, b) => a.t - b.t || a.p - b.p || a.i - b.i).map((e) => e.i);
        const got: number[] = [];
        for (let e = q.pop(); e; e = q.pop()) got.push(e.item);
        expect(got).toEqual(expected);
      }),
    );
  });
});

describe("Simulation", () => {
  it("moves time only by popping events and refuses the past", () => {
    const sim = new Simulation();
    const seen: number[] = [];
    sim.at(5, (s) => { seen.push(s.now); s.after(3, (s2) => seen.push(s2.now)); });
    sim.at(1, (s) => seen.push(s.now));
    sim.run();
    expect(seen).toEqual([1, 5, 8]);
    expect(() => sim.at(2, () => {})).toThrow(RangeError);
  });

  it("stops at the horizon and resumes later", () => {
    const sim = new Simulation();
    const seen: number[] = [];
    for (const t of [1, 2, 3, 4]) sim.at(t, (s) => seen.push(s.now));
    sim.run(2.5);
    expect(seen).toEqual([1, 2]);
    expect(sim.now).toBe(2.5);
    sim.run();
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});
