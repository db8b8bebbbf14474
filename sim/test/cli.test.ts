import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.js";

const demo = resolve(import.meta.dirname, "../scenarios/quick-demo.yaml");

describe("sim CLI", () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { out.push(a.join(" ")); });
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => { err.push(a.join(" ")); });
  });
  afterEach(() => vi.restoreAllMocks());

  it("prints help with exit 0, and exit 2 for no or an unknown command", async () => {
    expect(await main(["--help"])).toBe(0);
    expect(out.join("\n")).toMatch(/run .*scenario/);
    expect(await main(["run", "--help"])).toBe(0);
    expect(out.join("\n")).toMatch(/--json FILE/);
    expect(await main(["openb", "--help"])).toBe(0);
    expect(await main([])).toBe(2);
    expect(await main(["fly"])).toBe(2);
    expect(err.join("\n")).toMatch(/unknown command "fly"/);
  });

  it("exits 2 on usage errors", async () => {
    expect(await main(["run"])).toBe(2);
    expect(await main(["run", demo, "--seed", "abc"])).toBe(2);
    expect(await main(["run", demo, "--bogus"])).toBe(2);
    expect(await main(["run", "/no/such/file.yaml"])).toBe(2);
  });

  it("exits 2 on an invalid scenario and prints each problem with its path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-sim-"));
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, readFileSync(demo, "utf8").replace("memory: 128Gi", "memory: lots").replace("count: 3", "count: 0"));
    expect(await main(["run", bad])).toBe(2);
    const text = err.join("\n");
    expect(text).toMatch(/cluster\.nodeGroups\[0\]\.memory: .*not a quantity/);
    expect(text).toMatch(/cluster\.nodeGroups\[0\]\.count: /);
    expect(text).toMatch(/2 problems/);
  });

  it("checks cross-references once the shapes are right", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-sim-"));
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, readFileSync(demo, "utf8").replace("models: [bert-large]", "models: [bert-huge]").replace("placement: berth", "placement: tetris"));
    expect(await main(["run", bad])).toBe(2);
    expect(err.join("\n")).toMatch(/workload\.templates\[1\]\.models\[0\]: unknown model bert-huge/);
  });

  it("runs a scenario and writes JSON and HTML where asked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-sim-"));
    const json = join(dir, "r.json");
    const html = join(dir, "r.html");
    expect(await main(["run", demo, "--json", json, "--html", html, "--seed", "3", "--quiet"])).toBe(0);
    const result = JSON.parse(readFileSync(json, "utf8"));
    expect(result.seed).toBe(3);
    expect(result.leases.requested).toBeGreaterThan(0);
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html, "utf8")).toContain("<svg");
  });

  it("runs an experiment's every combination and writes a comparison", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-sim-"));
    const scenario = join(dir, "exp.yaml");
    writeFileSync(scenario, `${readFileSync(demo, "utf8").replace("leases: 40", "leases: 8").replace("duration: 20m", "duration: 9m")}
experiment:
  seeds: [1, 2]
  policies: [{ placement: berth }, { placement: spread }]
`);
    expect(await main(["run", scenario, "--out", dir, "--quiet"])).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, "quick-demo.json"), "utf8"));
    expect(summary.runs).toHaveLength(4);
    expect(summary.rows.map((r: { policies: string }) => r.policies)).toEqual(["berth+default+cost-aware+hpa", "spread+default+cost-aware+hpa"]);
    expect(readFileSync(join(dir, "quick-demo.html"), "utf8")).toContain("Policies compared");
  });
});
