import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Either } from "effect";
import { describe, expect, it } from "vitest";
import { parseScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";
import { runScenario } from "../src/run/run-scenario.js";
import { renderRunHtml } from "../src/run/report.js";
import type { RunResult } from "../src/run/result.js";
import { World } from "../src/run/world.js";
import { coreDecider } from "../src/run/core-decider.js";
import { loadMeasuredData } from "../src/scenario/resolve.js";
import { hasSharedData } from "../src/workload/shared-data.js";

const demo = (): Scenario => {
  const r = parseScenario(readFileSync(resolve(import.meta.dirname, "../scenarios/quick-demo.yaml"), "utf8"));
  if (Either.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
};

/** Everything but wall-clock figures. */
const simulated = (r: RunResult) => {
  const { wallMs: _w, eventsPerSecond: _e, ...rest } = r;
  return rest;
};

describe("runScenario on the quick demo", () => {
  const s = demo();
  const result = runScenario(s);

  it("runs the whole scenario quickly and gets most leases Ready despite the lost node", () => {
    expect(result.wallMs).toBeLessThan(5000);
    expect(result.leases.requested).toBe(40);
    expect(result.leases.ready).toBeGreaterThan(30);
    expect(result.leases.ready + result.leases.failed).toBeGreaterThanOrEqual(result.leases.requested - result.leases.waitingAtEnd);
    expect(result.backend.nodesLost).toBe(1);
    expect(result.timeToReady.count).toBe(result.leases.ready);
    expect(result.timeToReady.p50).toBeGreaterThan(0);
    expect(result.timeToReady.p99).toBeGreaterThanOrEqual(result.timeToReady.p50);
    expect(result.decisions.total).toBeGreaterThan(0);
    expect(result.samples.at(-1)?.t).toBe(s.duration / 1000);
    // after minute 8 one of the four nodes is gone
    expect(result.samples.at(-1)?.nodesReady).toBe(3);
  });

  it("is deterministic for a seed, and the seed matters", () => {
    expect(simulated(runScenario(s))).toEqual(simulated(result));
    const other = runScenario({ ...s, seed: 8 });
    expect(simulated(other)).not.toEqual(simulated(result));
  });

  it("keeps the trace bounded", () => {
    const small = runScenario(s, { traceLimit: 25 });
    expect(small.trace).toHaveLength(25);
    expect(small.traceDropped).toBe(small.decideCalls - 25);
    expect(small.trace.at(-1)?.seq).toBe(small.decideCalls - 1);
  });

  it("shows every policy the same workload (common random numbers)", () => {
    const a = new World(s, coreDecider);
    const b = new World({ ...s, policies: { ...s.policies, placement: "spread", eviction: "lru" } }, coreDecider);
    expect(b.plans.map((p) => [p.id, p.arriveAt, p.releaseAt, p.spec])).toEqual(a.plans.map((p) => [p.id, p.arriveAt, p.releaseAt, p.spec]));
  });

  it("renders a self-contained HTML report", () => {
    const html = renderRunHtml(result);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain("GPU allocation over time");
  });
});

describe("trace workloads", () => {
  const load = (name: string): Scenario => {
    const r = parseScenario(readFileSync(resolve(import.meta.dirname, "../scenarios", name), "utf8"));
    if (Either.isLeft(r)) throw new Error(JSON.stringify(r.left));
    return r.right;
  };
  const haveData = hasSharedData("alibaba-genai/lora_request_trace.csv") && hasSharedData("azure-llm/AzureLLMInferenceTrace_code.csv");

  it.skipIf(!haveData)("GenAI: a lease per base model, asked for again when gone; keeping models warm avoids cold loads", () => {
    const s = load("genai-trace.yaml");
    const { data, problems } = loadMeasuredData(s);
    expect(problems).toEqual([]);
    const warm = runScenario({ ...s, experiment: undefined, policies: { ...s.policies, keepWarm: true } }, { measured: data });
    const cold = runScenario({ ...s, experiment: undefined, policies: { ...s.policies, keepWarm: false } }, { measured: data });
    expect(warm.leases.requested).toBeGreaterThan(20);
    expect(warm.leases.ready).toBe(warm.leases.requested);
    expect(warm.backend.coldLoads).toBeLessThan(cold.backend.coldLoads);
    expect(warm.timeToReady.p50).toBeLessThan(cold.timeToReady.p50);
  });

  it.skipIf(!haveData)("Azure LLM: one autoscaled lease follows the trace's bursts within its bounds", () => {
    const s = load("azure-autoscale.yaml");
    const r = runScenario(s);
    expect(r.leases.ready).toBe(1);
    expect(r.requests.total).toBeGreaterThan(1000);
    const replicas = r.samples.map((x) => x.replicas);
    expect(Math.max(...replicas)).toBeGreaterThan(1);
    expect(Math.max(...replicas)).toBeLessThanOrEqual(6);
  });
});
