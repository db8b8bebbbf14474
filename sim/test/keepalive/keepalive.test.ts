import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { GiB } from "@berth/core/units";
import { parseLoadLatencies, parseRequestTrace, loadLoadLatencies, loadRequestTrace, type GenaiTrace } from "../../src/keepalive/trace.js";
import { simulateKeepalive } from "../../src/keepalive/simulate.js";
import { simPolicy, defaultPolicyNames } from "../../src/keepalive/policies.js";
import { runOne } from "../../src/keepalive/experiment.js";
import { drawModelSizes, MEMORY_MAX, median } from "../../src/keepalive/models.js";
import { parseKeepaliveArgs, runKeepaliveCommand } from "../../src/keepalive/command.js";
import { rngFromSeed } from "@berth/core/random/rng";
import type { KeepAlivePolicy, MemoryPressure } from "@berth/core/eviction/keepalive";
import { lru } from "@berth/core/eviction/lru";

const dataDir = path.resolve(__dirname, "../../../../shared/data/alibaba-genai");
const haveData = existsSync(path.join(dataDir, "lora_request_trace.csv"));

const MIN = 60_000;
const csv = (rows: [string, string, number][]) =>
  ["gmt_create,predict_type,predict_status,exec_time_seconds,groupId,prompt_length,negative_prompt_length,num_images_per_prompt,num_inference_steps,checkpoint_model_version_id,num_lora",
    ...rows.map(([t, m, e]) => `${t},TXT_2_IMG,SUCCEED,${e},G0,1,,1,30,${m},0`)].join("\n");
const at = (minutes: number) => {
  const d = new Date(Date.UTC(2024, 10, 15, 0, 0, 0) + minutes * MIN);
  return d.toISOString().slice(0, 19).replace("T", " ");
};

const run = (trace: GenaiTrace, policy: string, budgetGiB: number, sizeGiB = 10) =>
  simulateKeepalive(trace, {
    policy: simPolicy(policy)!, budget: budgetGiB * GiB, sizes: trace.models.map(() => sizeGiB * GiB),
    drawLoadTime: () => 1000, defaultLoadTime: 1000,
  });

describe("trace parsing", () => {
  it("reads requests in time order, names models by first appearance, and skips rows without a model", () => {
    const t = parseRequestTrace(csv([[at(1), "MB", 2], [at(0), "MA", 1.5]]) + "\n2024-11-15 00:05:00,TXT_2_IMG,PENDING,0.0,G1,,,,,,0");
    expect(t.models).toEqual(["MB", "MA"]);
    expect(t.requests.map((r) => [r.model, r.exec])).toEqual([[1, 1500], [0, 2000]]);
    expect(t.requests[0].at).toBe(Date.UTC(2024, 10, 15));
    expect([t.rows, t.unattributed]).toEqual([3, 1]);
    expect(() => parseRequestTrace("a,b\n1,2")).toThrow(/missing column/);
    expect(parseLoadLatencies("timestamp_anon,value,container_ip\n1,2639.0,x\n2,39010,y")).toEqual([2639, 39010]);
  });

  it.skipIf(!haveData)("loads the Alibaba GenAI trace: 26,823 rows, 86 named base models, 25 rows without one", async () => {
    const t = await loadRequestTrace(path.join(dataDir, "lora_request_trace.csv"));
    expect(t.rows).toBe(26_823);
    expect(t.models.length).toBe(86);
    expect(t.unattributed).toBe(25);
    expect(t.requests.length + t.unattributed).toBe(26_823);
    const lat = await loadLoadLatencies(path.join(dataDir, "basemodel_update_latency_anon.csv"));
    expect(lat.length).toBe(7531);
    expect(median(lat) / 1000).toBeCloseTo(22.7, 0);
  });
});

describe("model sizes", () => {
  it("are seeded, at most the measured maximum, with a median near 23 GiB", () => {
    const a = drawModelSizes(2000, rngFromSeed(42));
    expect(drawModelSizes(2000, rngFromSeed(42))).toEqual(a);
    expect(Math.max(...a)).toBeLessThanOrEqual(MEMORY_MAX);
    expect(median(a) / GiB).toBeGreaterThan(21.5);
    expect(median(a) / GiB).toBeLessThan(24.5);
  });
});

describe("keep-alive simulation on a tiny trace", () => {
  // Model A at 0, 5 and 40 minutes; B at 0. Loads and executions take 1 s; no memory pressure.
  const tiny = parseRequestTrace(csv([[at(0), "A", 1], [at(0), "B", 1], [at(5), "A", 1], [at(40), "A", 1]]));
  it.each([
    ["fixed-10m", 3], // A's 40-minute request comes 35 min after its last use
    ["fixed-20m", 3],
    ["hybrid", 2], // two idle times: not representative, so 4 h keep-alive
    ["lru", 2],
    ["berth", 2], // a cold start priced at the reference 22.7 s load: break-even for 10 GiB about 9 h
    ["berth-rent", 3], // priced at the measured 1 s load: break-even about 24 min
    ["berth-warm", 2], // expired but kept warm: memory was never needed
  ])("%s has %i cold starts", (policy, expected) => {
    const r = run(tiny, policy, 100);
    expect(r.coldStarts).toBe(expected);
    expect(r.ttfiP99Ms).toBe(1000);
    expect(r.ttfiP50Ms).toBe(expected >= 3 ? 1000 : 0); // nearest rank over 4 requests
    expect(r.memoryWaits).toBe(0);
  });

  it("evicts the least recently used model when memory is full", () => {
    // 20 GiB holds two of A, B, C (10 GiB each).
    const t = parseRequestTrace(csv([[at(0), "A", 1], [at(1), "B", 1], [at(2), "C", 1], [at(3), "A", 1], [at(4), "B", 1]]));
    const r = run(t, "lru", 20);
    expect(r.coldStarts).toBe(5); // C evicts A, A evicts B, B evicts C
    expect(r.evictions).toBe(3);
    expect(r.peakMemoryGiB).toBe(20);
  });

  it("makes a request wait for memory when every loaded model is busy", () => {
    const t = parseRequestTrace(csv([[at(0), "A", 600], [at(1), "B", 1]]));
    const r = run(t, "lru", 10);
    expect(r.memoryWaits).toBe(1);
    expect(r.coldStarts).toBe(2);
    // B waits for A's 10-minute request (ends at 1 s + 600 s) and its own 1 s load.
    expect(r.ttfiP99Ms).toBe(601_000 - MIN + 1000);
  });

  it("integrates memory over time", () => {
    const t = parseRequestTrace(csv([[at(0), "A", 59]]));
    // 1 s load + 59 s of work: one minute of 10 GiB.
    expect(run(t, "fixed-10m", 100).memoryGiBHours).toBeCloseTo(10 / 60);
  });

  it("counts what memory pressure costs, and hands the count to the keep-alive policy", () => {
    // 20 GiB holds two of A, B, C (10 GiB each); every model's plan is to stay warm an hour.
    const seen: (MemoryPressure | undefined)[] = [];
    const hour: KeepAlivePolicy = { name: "hour", windows: (input) => (seen.push(input.pressure), { prewarm: 0, keepAlive: 60 * MIN, mode: "Fixed" }) };
    const policy = { name: "hour", keepAlive: hour, eviction: lru(), unloadAtExpiry: true, describe: "" };
    const t = parseRequestTrace(csv([[at(0), "A", 1], [at(1), "B", 1], [at(2), "C", 1], [at(3), "A", 1], [at(90), "B", 1]]));
    const r = simulateKeepalive(t, { policy, budget: 20 * GiB, sizes: t.models.map(() => 10 * GiB), drawLoadTime: () => 1000, defaultLoadTime: 1000 });
    // C evicts A and A evicts B, both inside their hour; A's return at 3 min is displaced,
    // B's at 90 min is not (its plan had let it go by then).
    expect(r.evictions).toBe(2);
    expect(r.coldStarts).toBe(5);
    expect(r.displacedColdStarts).toBe(1);
    expect(seen.map((p) => p?.evictions)).toEqual([0, 0, 1, 2, 2]);
    expect(seen.every((p) => p?.budget === 20 * GiB)).toBe(true);
  });

  it("refuses a budget smaller than the largest model", () => {
    expect(() => run(tiny, "lru", 5)).toThrow(/budget/);
  });
});

describe.skipIf(!haveData)("on the real trace", () => {
  it("is deterministic per seed and differs across seeds", async () => {
    const trace = await loadRequestTrace(path.join(dataDir, "lora_request_trace.csv"));
    const lat = await loadLoadLatencies(path.join(dataDir, "basemodel_update_latency_anon.csv"));
    const a = runOne(trace, lat, "berth", 42, 640);
    expect(runOne(trace, lat, "berth", 42, 640)).toEqual(a);
    expect(runOne(trace, lat, "berth", 43, 640).memoryGiBHours).not.toBe(a.memoryGiBHours);
    expect(a.requests).toBe(26_798);
  }, 180_000); // Berth's time-of-day plans take several seconds a run on the whole trace

  it("at 320 GiB the shadow price brings Berth under 80% of hybrid's memory with fewer cold starts; the base price alone does not", async () => {
    const trace = await loadRequestTrace(path.join(dataDir, "lora_request_trace.csv"));
    const lat = await loadLoadLatencies(path.join(dataDir, "basemodel_update_latency_anon.csv"));
    const [hybrid, berth, base] = ["hybrid", "berth", "berth-base"].map((p) => runOne(trace, lat, p, 42, 320));
    expect(berth.coldStarts).toBeLessThan(hybrid.coldStarts);
    expect(berth.memoryGiBHours).toBeLessThanOrEqual(0.8 * hybrid.memoryGiBHours);
    expect(base.memoryGiBHours).toBeGreaterThan(0.8 * hybrid.memoryGiBHours);
  }, 180_000);

  it("at 1,280 GiB (no pressure) Berth has fewer cold starts than hybrid under 80% of its memory, and fewer than with U from all gaps at the old base price", async () => {
    const trace = await loadRequestTrace(path.join(dataDir, "lora_request_trace.csv"));
    const lat = await loadLoadLatencies(path.join(dataDir, "basemodel_update_latency_anon.csv"));
    const [hybrid, berth, before] = ["hybrid", "berth", "berth-allgaps@240m"].map((p) => runOne(trace, lat, p, 42, 1280));
    expect(berth.evictions).toBe(0);
    expect(berth.coldStarts).toBeLessThan(hybrid.coldStarts);
    expect(berth.memoryGiBHours).toBeLessThanOrEqual(0.8 * hybrid.memoryGiBHours);
    expect(berth.coldStarts).toBeLessThan(before.coldStarts);
  }, 180_000);
});

describe("command", () => {
  it("parses arguments and rejects bad ones with exit code 2", async () => {
    const a = parseKeepaliveArgs(["--policies", "hybrid,berth@60m", "--seeds", "42-44,50", "--budget-gib=320,640"]);
    expect(a.policies).toEqual(["hybrid", "berth@60m"]);
    expect(a.seeds).toEqual([42, 43, 44, 50]);
    expect(a.budgetsGiB).toEqual([320, 640]);
    expect(parseKeepaliveArgs([]).policies).toEqual(defaultPolicyNames);
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await runKeepaliveCommand(["--policies", "nope"])).toBe(2);
    expect(await runKeepaliveCommand(["--seeds", "x"])).toBe(2);
    expect(await runKeepaliveCommand(["--budget-gib", "-1"])).toBe(2);
    expect(await runKeepaliveCommand(["--frobnicate"])).toBe(2);
    expect(await runKeepaliveCommand(["--trace", "/nonexistent/trace.csv"])).toBe(1);
    err.mockRestore();
  });
});
