import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { desiredModels } from "../src/desired-models.js";
import { lease } from "./berthd-stand-in.js";

describe("desiredModels", () => {
  it("wants a model once however many leases hold it, and names every holder", () => {
    const { wanted, conflicts } = desiredModels({ generation: 1, leases: [lease("a", "simple", "mlp"), lease("b", "demo/simple")] }, "demo");
    expect([...wanted.keys()].sort()).toEqual(["mlp", "simple"]);
    expect(wanted.get("simple")).toMatchObject({ repository: "demo", leaseIds: ["a", "b"] });
    expect(conflicts.size).toBe(0);
  });

  it("fails the later lease when one name comes from two repositories", () => {
    const { wanted, conflicts } = desiredModels({ generation: 1, leases: [lease("a", "demo/simple"), lease("b", "hub/simple")] }, "demo");
    expect(wanted.get("simple")?.leaseIds).toEqual(["a"]);
    expect(conflicts.get("b")?.error).toMatch(/'simple' from repository 'hub' conflicts with 'simple' from 'demo'/);
  });

  it("a model is wanted exactly when some lease without a conflict names it (property)", () => {
    const names = fc.constantFrom("m1", "m2", "m3", "m4");
    const leases = fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 3 }), models: fc.array(names, { maxLength: 3 }) }), { selector: (l) => l.id, maxLength: 6 });
    fc.assert(
      fc.property(leases, (ls) => {
        const { wanted } = desiredModels({ generation: 1, leases: ls.map((l) => lease(l.id, ...l.models)) }, "demo");
        const named = new Set(ls.flatMap((l) => l.models));
        expect(new Set(wanted.keys())).toEqual(named);
        for (const [name, w] of wanted) expect(new Set(w.leaseIds)).toEqual(new Set(ls.filter((l) => (l.models as string[]).includes(name)).map((l) => l.id)));
      }),
    );
  });
});
