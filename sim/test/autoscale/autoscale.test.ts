import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { berthPolicy } from "@berth/core/autoscaler/berth";
import { hpaPolicy } from "@berth/core/autoscaler/hpa";
import { powerOfTwoPicker } from "@berth/core/picker/power-of-two";
import { AZURE_CODE_TRACE, loadAzureTrace, parseAzureTrace } from "../../src/autoscale/azure-trace.js";
import { parseAutoscaleArgs, parseCliDuration, parseSeeds, runAutoscaleCommand } from "../../src/autoscale/command.js";
import { defaultAutoscaleSettings, runAutoscaleExperiment } from "../../src/autoscale/experiment.js";
import { simulateFleet, type FleetRequest } from "../../src/autoscale/fleet.js";
import { autoscaleHtml } from "../../src/autoscale/report.js";
import { defaultServiceModel, serviceMs } from "../../src/autoscale/service-model.js";
import { sharedDataPath } from "../../src/workload/shared-data.js";

const hasTrace = existsSync(sharedDataPath(AZURE_CODE_TRACE));

describe("Azure LLM trace", () => {
  it("parses timestamps with seven fractional digits into relative, ordered milliseconds", () => {
    const text = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:04.0319600,3180,8\n2023-11-16 18:17:03.9799600,4808,10\n";
    const rs = parseAzureTrace(text);
    expect(rs.map((r) => r.contextTokens)).toEqual([4808, 3180]);
    expect(rs[0].atMs).toBe(0);
    expect(rs[1].atMs).toBeCloseTo(52, 6);
  });

  it("rejects bad rows with the line number", () => {
    expect(() => parseAzureTrace("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,2\n")).toThrow(/:2: bad TIMESTAMP/);
    expect(() => parseAzureTrace("TIMESTAMP,ContextTokens\n")).toThrow(/GeneratedTokens/);
  });

  it.skipIf(!hasTrace)("loads 8,819 requests over about an hour", () => {
    const t = loadAzureTrace();
    expect(t.length).toBe(8819);
    expect(t[t.length - 1].atMs / 1000).toBeGreaterThan(3400);
    expect(t.every((r, i) => i === 0 || r.atMs >= t[i - 1].atMs)).toBe(true);
  });
});

describe("service model", () => {
  it("is prefill at a token rate plus a time per generated token", () => {
    expect(serviceMs(defaultServiceModel, { contextTokens: 4000, generatedTokens: 10 })).toBe(1000 + 400);
  });
});

describe("autoscaled fleet", () => {
  // 1 req/s for 5 min, 12 req/s for 5 min, 1 req/s for 10 min; 1 s per request, 4 slots per replica.
  const step: FleetRequest[] = [];
  const phase = (from: number, to: number, perS: number) => {
    for (let t = from; t < to; t += 1000 / perS) step.push({ atMs: t, serviceMs: 1000 });
  };
  phase(0, 300_000, 1);
  phase(300_000, 600_000, 12);
  phase(600_000, 1_200_000, 1);
  const spec = { metric: "queue_time", target: 2000, minReplicas: 1, maxReplicas: 12 } as const;

  it.each([
    ["hpa", () => hpaPolicy()],
    ["berth", () => berthPolicy({ startupMs: 30_000 })],
  ] as const)("%s scales up for a step of load and back down, within bounds", (name, policy) => {
    const r = simulateFleet({ requests: step, policy: policy(), spec: { ...spec, policy: name }, picker: powerOfTwoPicker(), seed: 42, startupMs: 30_000, slotsPerReplica: 4, periodMs: 15_000, sloMs: 2000 });
    const during = r.ticks.filter((t) => t.atMs > 300_000 && t.atMs <= 600_000);
    const after = r.ticks.filter((t) => t.atMs > 1_100_000);
    expect(Math.max(...during.map((t) => t.replicas))).toBeGreaterThanOrEqual(3);
    expect(Math.max(...after.map((t) => t.replicas))).toBeLessThanOrEqual(2);
    for (const t of r.ticks) {
      expect(t.desired).toBeGreaterThanOrEqual(1);
      expect(t.desired).toBeLessThanOrEqual(12);
    }
    expect(r.queueMs.every((q) => q >= 0)).toBe(true);
    // Replica-seconds at least cover one replica for the whole run.
    expect(r.replicaSeconds).toBeGreaterThanOrEqual(r.endMs / 1000 - 1);
  });

  it.skipIf(!hasTrace)("is deterministic for a seed, on the real trace", () => {
    const trace = loadAzureTrace();
    const settings = { ...defaultAutoscaleSettings, seeds: [42] };
    const a = runAutoscaleExperiment(trace, settings);
    const b = runAutoscaleExperiment(trace, settings);
    expect(a.runs).toEqual(b.runs);
    expect(a.runs.map((r) => r.policy)).toEqual(["hpa", "berth"]);
    expect(autoscaleHtml(a)).toContain("<svg");
  });
});

describe("autoscale command arguments", () => {
  it("parses seeds, durations and policies", () => {
    expect(parseSeeds("42-46")).toEqual([42, 43, 44, 45, 46]);
    expect(parseSeeds("1,3-4")).toEqual([1, 3, 4]);
    expect(parseCliDuration("45s")).toBe(45_000);
    expect(parseCliDuration("500ms")).toBe(500);
    expect(parseCliDuration("2")).toBe(2000);
    const p = parseAutoscaleArgs(["--policies", "berth", "--startup", "15s", "--slo", "1s", "--seeds", "7"]);
    expect(p.settings.policies).toEqual(["berth"]);
    expect([p.settings.startupMs, p.settings.sloMs, p.settings.seeds]).toEqual([15_000, 1000, [7]]);
  });

  it("exits 2 on bad arguments and 1 when the trace cannot be read", async () => {
    expect(await runAutoscaleCommand(["--policies", "magic"])).toBe(2);
    expect(await runAutoscaleCommand(["--startup", "soon"])).toBe(2);
    expect(await runAutoscaleCommand(["--wat"])).toBe(2);
    expect(await runAutoscaleCommand(["--trace", "/nonexistent/trace.csv"])).toBe(1);
  });
});
