import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Either } from "effect";
import { describe, expect, it } from "vitest";
import { expand } from "../src/scenario/experiment.js";
import { parseScenario, type Problem } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";
import { scenarioPolicyProblems } from "../src/run/core-decider.js";

const demoText = readFileSync(resolve(import.meta.dirname, "../scenarios/quick-demo.yaml"), "utf8");

const ok = (text: string): Scenario => {
  const r = parseScenario(text);
  if (Either.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
};
const problems = (text: string): Problem[] => {
  const r = parseScenario(text);
  if (Either.isRight(r)) throw new Error("expected problems");
  return r.left;
};

const MINIMAL = `
name: tiny
seed: 1
duration: 5m
cluster:
  nodeGroups:
    - { name: a10, count: 2, cpu: 16, memory: 64Gi, gpus: { count: 2, model: A10, memory: 24Gi } }
servers: { startup: 10s }
models:
  - { name: resnet, size: 100Mi, loadTime: { kind: uniform, min: 1s, max: 2s } }
workload:
  kind: synthetic
  leases: 5
  interarrival: { kind: exponential, mean: 20s }
  templates:
    - { name: small, models: [resnet], resources: { gpuMilli: 250 } }
`;

describe("scenario decoding", () => {
  it("decodes the quick demo into core units", () => {
    const s = ok(demoText);
    expect(s.name).toBe("quick-demo");
    expect(s.duration).toBe(20 * 60_000);
    expect(s.cluster.nodeGroups[0].memory).toBe(128 * 1024 ** 3);
    expect(s.cluster.nodeGroups[0].cpu).toBe(32_000);
    expect(s.cluster.nodeGroups[0].gpus?.memory).toBe(24 * 1024 ** 3);
    expect(s.servers.startup).toEqual({ kind: "lognormal", median: 15_000, sigma: 0.3 });
    expect(s.failures.nodeLoss).toEqual([{ at: 8 * 60_000, node: "a10-1" }]);
    expect(scenarioPolicyProblems(s)).toEqual([]);
  });

  it("fills defaults and reads a bare duration as a constant distribution", () => {
    const s = ok(MINIMAL);
    expect(s.servers.startup).toEqual({ kind: "constant", value: 10_000 });
    expect(s.tick).toBe(10_000);
    expect(s.pools).toEqual([]);
    expect(s.policies.autoscaler).toBe("hpa");
    expect(s.models[0].repository).toBe("sim");
  });

  it("reports every problem with its path", () => {
    const text = MINIMAL.replace("memory: 64Gi", "memory: 64 gigs")
      .replace("{ kind: uniform, min: 1s, max: 2s }", "{ kind: uniform, min: 3s, max: 2s }")
      .replace("count: 2, cpu", "count: -1, cpu");
    const paths = problems(text).map((p) => p.path);
    expect(paths).toContain("cluster.nodeGroups[0].memory");
    expect(paths).toContain("cluster.nodeGroups[0].count");
    expect(paths).toContain("models[0].loadTime.max");
  });

  it("checks cross-references: unknown models, pools and nodes", () => {
    const text = `${MINIMAL.replace("models: [resnet]", "models: [resnet, vgg]").replace("resources: { gpuMilli: 250 }", "pool: nowhere")}
failures:
  nodeLoss: [{ at: 1m, node: a10-7 }]
`;
    const found = problems(text);
    expect(found.map((p) => p.path).sort()).toEqual(["failures.nodeLoss[0].node", "workload.templates[0].models[1]", "workload.templates[0].pool"]);
    expect(found.find((p) => p.path.endsWith("models[1]"))?.message).toMatch(/unknown model vgg/);
  });

  it("rejects unknown fields and names the YAML line of a syntax error", () => {
    expect(problems(`${MINIMAL}\ncolour: blue\n`).map((p) => p.path)).toContain("colour");
    const bad = problems("name: [unclosed\nseed: 1\n");
    expect(bad[0].path).toMatch(/^line \d+:\d+$/);
  });

  it("names unknown policies with their paths", () => {
    const s = ok(`${MINIMAL}\npolicies: { placement: no-such-policy, eviction: lru }\n`);
    expect(scenarioPolicyProblems(s)).toEqual([{ path: "policies.placement", message: "unknown placement policy no-such-policy" }]);
  });
});

describe("expand", () => {
  it("is the cartesian product of workloads x policies x seeds, with unique ids", () => {
    const s = ok(`${MINIMAL}
experiment:
  seeds: { from: 42, count: 3 }
  policies: [{ placement: bestfit }, { placement: spread, eviction: lru }]
  workloads:
    - { name: calm, workload: { kind: synthetic, leases: 2, interarrival: 1m, templates: [{ name: small, models: [resnet] }] } }
    - { name: busy, workload: { kind: synthetic, leases: 9, interarrival: 5s, templates: [{ name: small, models: [resnet] }] } }
`);
    const runs = expand(s);
    expect(runs).toHaveLength(2 * 2 * 3);
    expect(new Set(runs.map((r) => r.id)).size).toBe(12);
    expect(runs.map((r) => r.seed).slice(0, 3)).toEqual([42, 43, 44]);
    expect(runs[3].policies).toMatchObject({ placement: "spread", eviction: "lru", autoscaler: "hpa" });
    expect(runs.every((r) => r.scenario.experiment === undefined && r.scenario.seed === r.seed)).toBe(true);
    expect(runs[6].scenario.workload).toMatchObject({ leases: 9 });
    expect(expand(s)).toEqual(runs); // pure
  });

  it("expands a scenario without an experiment to itself", () => {
    const s = ok(MINIMAL);
    const runs = expand(s);
    expect(runs).toHaveLength(1);
    expect(runs[0].scenario).toEqual({ ...s, experiment: undefined });
  });
});
