import { describe, expect, it } from "vitest";
import { holdersOn, modelKey, modelMatches, modelSetKey, modelsToUnload } from "../../src/lease/ownership.js";
import type { LeaseRecord } from "../../src/lease/types.js";
import type { ModelRef } from "../../src/spec/types.js";

const m = (name: string, version?: number): ModelRef => ({ name, repository: "r", ...(version === undefined ? {} : { version }) });
const lease = (id: string, models: ModelRef[], serverId: string | undefined, phase: LeaseRecord["phase"] = "Ready"): LeaseRecord =>
  ({ id, phase, spec: { models }, ...(serverId ? { placement: { serverId, assigned: true } } : {}) }) as unknown as LeaseRecord;

describe("shared ownership", () => {
  it("names models and model sets independently of order", () => {
    expect(modelKey(m("a"))).toBe("r/a");
    expect(modelKey(m("a", 2))).toBe("r/a@2");
    expect(modelSetKey([m("b"), m("a"), m("b")])).toBe(modelSetKey([m("a"), m("b")]));
    expect(modelMatches(m("a"), "a") && modelMatches(m("a"), "r/a")).toBe(true);
    expect(modelMatches(m("a"), "b")).toBe(false);
  });

  it("unloads only models no other lease on the server holds", () => {
    const a = lease("a", [m("x"), m("y")], "s1");
    const b = lease("b", [m("y")], "s1");
    const c = lease("c", [m("x")], "s2");
    const ended = lease("d", [m("x")], undefined, "Released");
    expect(modelsToUnload(a, "s1", [a, b, c, ended])).toEqual([m("x")]);
    expect(modelsToUnload(b, "s1", [a, b])).toEqual([]);
  });

  it("warm (Expiring) leases still hold their models; ended ones do not", () => {
    const warm = lease("w", [m("x")], "s1", "Expiring");
    const a = lease("a", [m("x")], "s1");
    expect(modelsToUnload(a, "s1", [a, warm])).toEqual([]);
    expect(holdersOn("s1", [a, warm]).get("r/x")).toEqual(["a", "w"]);
  });
});
