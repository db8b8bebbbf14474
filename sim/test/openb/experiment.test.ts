import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseOpenbArgs, runOpenbCommand } from "../../src/openb/command.js";
import { runCell } from "../../src/openb/experiment.js";
import { defaultNodeFile, OPENB_DIR, podFileOf, readNodes, readPods } from "../../src/openb/files.js";
import type { OpenbNode, OpenbPod } from "../../src/openb/trace.js";

const haveTrace = existsSync(OPENB_DIR);

/** Every k-th node and pod: a cluster and trace of the same mix, small enough for a test. */
const subsample = <T>(xs: readonly T[], k: number): T[] => xs.filter((_, i) => i % k === 0);

describe.skipIf(!haveTrace)("packing experiment on a subsample of openb default", () => {
  const nodes: OpenbNode[] = haveTrace ? subsample(readNodes(defaultNodeFile()), 8) : [];
  const pods: OpenbPod[] = haveTrace ? subsample(readPods(podFileOf("default")), 8) : [];

  it("gives a non-decreasing curve from 0 to 130% arrived and skips pods that fit nowhere", () => {
    const r = runCell(nodes, pods, "bestfit", 42);
    expect(r.curve).toHaveLength(131);
    const defined = r.curve.filter((v) => !Number.isNaN(v));
    for (let i = 1; i < defined.length; i++) expect(defined[i]).toBeGreaterThanOrEqual(defined[i - 1] - 1e-9);
    expect(r.curve[130]).toBeGreaterThan(50);
    expect(r.curve[130]).toBeLessThanOrEqual(100);
    expect(r.failed).toBeGreaterThan(0);
  });

  it("is reproducible from its seed", () => {
    expect(runCell(nodes, pods, "random", 7).curve).toEqual(runCell(nodes, pods, "random", 7).curve);
  });

  it("berth allocates at least as much as fgd at 130% arrived", () => {
    for (const seed of [42, 43]) {
      const berth = runCell(nodes, pods, "berth", seed);
      const fgd = runCell(nodes, pods, "fgd", seed);
      expect(berth.curve[130]).toBeGreaterThanOrEqual(fgd.curve[130]);
    }
  });
});

describe("openb command", () => {
  afterEach(() => vi.restoreAllMocks());

  it("parses seeds, policies and defaults", () => {
    const a = parseOpenbArgs(["--seeds", "42-44,50", "--policies", "fgd,berth", "--json=x.json"]);
    expect(a.seeds).toEqual([42, 43, 44, 50]);
    expect(a.policies).toEqual(["fgd", "berth"]);
    expect(a.json).toBe("x.json");
    expect(a.pods).toBe(podFileOf("default"));
    expect(parseOpenbArgs([]).policies).toEqual(["random", "dotprod", "gpuclustering", "gpupacking", "bestfit", "fgd", "berth"]);
    expect(parseOpenbArgs(["--trace", "cpu050"]).pods).toBe(podFileOf("cpu050"));
  });

  it("answers 2 with a clear message on bad arguments", async () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    for (const bad of [["--policies", "nope"], ["--seeds", "51-42"], ["--frobnicate"], ["--json"], ["--trace", "x"], ["--workers", "0"]]) {
      expect(await runOpenbCommand(bad)).toBe(2);
    }
    expect(err.mock.calls.map((c) => String(c[0])).join("")).toMatch(/unknown nope/);
  });

  it.skipIf(!haveTrace)("writes the JSON summary and the HTML report; a missing file is a failure (1)", async () => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const dir = mkdtempSync(path.join(tmpdir(), "openb-"));
    const nodeLines = readFileSync(defaultNodeFile(), "utf8").trim().split("\n");
    const podLines = readFileSync(podFileOf("default"), "utf8").trim().split("\n");
    writeFileSync(path.join(dir, "nodes.csv"), [nodeLines[0], ...subsample(nodeLines.slice(1), 16)].join("\n"));
    writeFileSync(path.join(dir, "pods.csv"), [podLines[0], ...subsample(podLines.slice(1), 16)].join("\n"));
    const json = path.join(dir, "out.json");
    const html = path.join(dir, "out.html");
    const argv = ["--nodes", path.join(dir, "nodes.csv"), "--pods", path.join(dir, "pods.csv"), "--policies", "bestfit,berth", "--seeds", "42", "--workers", "1"];
    expect(await runOpenbCommand([...argv, "--json", json, "--html", html])).toBe(0);
    const out = JSON.parse(readFileSync(json, "utf8"));
    expect(out.policies.map((p: { policy: string }) => p.policy)).toEqual(["bestfit", "berth"]);
    expect(out.policies[1].curve).toHaveLength(131);
    expect(out.policies[1].at130).toBe(out.policies[1].curve[130]);
    expect(readFileSync(html, "utf8")).toMatch(/<svg[\s\S]*berth[\s\S]*<table>/);
    expect(await runOpenbCommand(["--nodes", path.join(dir, "missing.csv"), "--seeds", "42", "--workers", "1"])).toBe(1);
  });
});
