import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelActivity, ModelMetrics } from "@berth/api/sidecar";
import { writeDemoRepository } from "@berth/repository/demo/demo-repository";
import { ActivityTracker } from "../src/activity.js";
import { createServerClient, type ServerClient } from "../src/server-client.js";
import { modelCountersFromJson, modelMetrics, ServerMetricsTracker, type ModelCounters } from "../src/server-metrics.js";
import { startModelServerProcess, type ModelServerProcess } from "./model-server-process.js";

const counters = (model: string, n: Partial<ModelCounters> = {}): ModelCounters => ({
  model,
  inferenceCount: 0,
  executionCount: 0,
  lastInferenceMs: 0,
  successCount: 0,
  failCount: 0,
  queueCount: 0,
  queueNs: 0,
  computeNs: 0,
  ...n,
});

describe("server metrics from the statistics extension (pure)", () => {
  it("reads Triton's JSON, numbers or 64-bit strings, summing a model's versions and tolerating missing sections", () => {
    const json = {
      model_stats: [
        {
          name: "m",
          version: "1",
          last_inference: 1000,
          inference_count: 4,
          execution_count: 3,
          inference_stats: {
            success: { count: 3, ns: 900 },
            fail: { count: 1, ns: 5 },
            queue: { count: 3, ns: "300" },
            compute_input: { count: 3, ns: 10 },
            compute_infer: { count: 3, ns: 100 },
            compute_output: { count: 3, ns: 20 },
          },
        },
        { name: "m", version: "2", last_inference: "2000", inference_count: "1", execution_count: 1, inference_stats: { success: { count: 1, ns: 50 }, queue: { count: 1, ns: 7 } } },
        { name: "idle", version: "1" },
      ],
    };
    expect(modelCountersFromJson(json)).toEqual([
      counters("m", { inferenceCount: 5, executionCount: 4, lastInferenceMs: 2000, successCount: 4, failCount: 1, queueCount: 4, queueNs: 307, computeNs: 130 }),
      counters("idle"),
    ]);
    expect(() => modelCountersFromJson({ model_stats: [{ version: "1" }] })).toThrow(/unreadable statistics/);
  });

  it("derives queue time, rps and in-flight (Little's law) from the deltas", () => {
    const before = counters("m", { successCount: 10, queueCount: 10, queueNs: 1e9, computeNs: 2e9 });
    // 20 requests in 2 s, 40 ms queued and 60 ms computing each.
    const now = counters("m", { successCount: 30, queueCount: 30, queueNs: 1e9 + 20 * 40e6, computeNs: 2e9 + 20 * 60e6, failCount: 2 });
    const m = modelMetrics(before, now, 2000);
    expect(m).toMatchObject({ interval_ms: 2000, requests_completed: 20, requests_failed: 2, queue_count_delta: 20, counters_reset: false });
    expect(m.queue_time_ms).toBeCloseTo(40, 9);
    expect(m.rps).toBeCloseTo(10, 9);
    // 10 per second x 100 ms in the server = 1 request in flight on average.
    expect(m.inflight).toBeCloseTo(1, 9);
  });

  it("counts from zero when any counter went down (server restart, reload), never reporting a negative delta", () => {
    const arb = fc.record({ successCount: fc.nat(1000), queueCount: fc.nat(1000), queueNs: fc.nat(1e9), computeNs: fc.nat(1e9), failCount: fc.nat(10) });
    fc.assert(
      fc.property(arb, arb, fc.integer({ min: 1, max: 60_000 }), (a, b, interval) => {
        const m = modelMetrics(counters("m", a), counters("m", b), interval);
        const dropped = b.successCount < a.successCount || b.queueCount < a.queueCount || b.queueNs < a.queueNs || b.computeNs < a.computeNs || b.failCount < a.failCount;
        expect(m.counters_reset).toBe(dropped);
        for (const v of [m.requests_completed, m.queue_count_delta, m.queue_ns_delta, m.compute_ns_delta, m.requests_failed, m.queue_time_ms, m.inflight, m.rps]) expect(v).toBeGreaterThanOrEqual(0);
        if (dropped) expect(m.requests_completed).toBe(b.successCount);
        else expect(m.requests_completed).toBe(b.successCount - a.successCount);
      }),
    );
  });

  it("gives no metrics on the first read (no baseline), then deltas; a model appearing later counts from zero", () => {
    const tracker = new ServerMetricsTracker();
    expect(tracker.observe([counters("old", { successCount: 1e6, queueCount: 1e6 })], 1000).size).toBe(0);
    const second = tracker.observe([counters("old", { successCount: 1e6 + 5, queueCount: 1e6 + 5 }), counters("new", { successCount: 3, queueCount: 3 })], 3000);
    expect(second.get("old")).toMatchObject({ interval_ms: 2000, requests_completed: 5 });
    expect(second.get("new")).toMatchObject({ interval_ms: 2000, requests_completed: 3, counters_reset: false });
  });
});

describe("the activity tracker against the real model server", () => {
  let root: string;
  let server: ModelServerProcess;
  let client: ServerClient;
  let tracker: ActivityTracker;
  let port: number;

  const statsOf = async (model: string) => modelCountersFromJson(await (await fetch(`${client.baseUrl}/v2/models/${model}/stats`)).json())[0]!;
  const infer = async (batch: number) => {
    const res = await fetch(`${client.baseUrl}/v2/models/simple/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: ["INPUT0", "INPUT1"].map((name) => ({ name, datatype: "INT32", shape: [batch, 16], data: Array(16 * batch).fill(1) })) }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };
  /** `n` requests at once: with one execution slot, all but one wait, so they queue. */
  const burst = (n: number) => Promise.all(Array.from({ length: n }, () => infer(1)));
  const metricsOf = (activity: ModelActivity[], model: string): ModelMetrics => {
    const m = activity.find((a) => a.model === model)?.metrics;
    expect(m).toBeDefined();
    return m!;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-server-metrics-"));
    await writeDemoRepository(root, { models: ["simple", "mlp_fp32"] });
    server = await startModelServerProcess(root);
    port = server.http;
    client = createServerClient(`127.0.0.1:${port}`);
    await client.load("simple");
    await client.load("mlp_fp32");
    tracker = new ActivityTracker(client, () => ["simple"]);
  }, 60_000);

  afterAll(async () => {
    await server?.kill("SIGTERM");
    await rm(root, { recursive: true, force: true });
  });

  it("reports the server's own queue time and completions as deltas between reads, idle models with zero deltas", async () => {
    // Inferences before the first read belong to no interval: the first read is the baseline.
    await burst(3);
    expect(await tracker.poll()).toEqual([expect.objectContaining({ model: "simple", inference_count_delta: 3 })]);
    expect((await tracker.poll())[0]!.metrics).toMatchObject({ requests_completed: 0, queue_count_delta: 0, queue_time_ms: 0, inflight: 0, rps: 0 });

    const before = await statsOf("simple");
    const started = Date.now();
    await burst(40);
    await burst(20);
    const elapsed = Date.now() - started;
    const after = await statsOf("simple");
    const activity = await tracker.poll();
    // Only the models the sidecar loaded ("simple"), though mlp_fp32 is loaded too.
    expect(activity.map((a) => a.model)).toEqual(["simple"]);
    const m = metricsOf(activity, "simple");
    expect(m).toMatchObject({ requests_completed: 60, queue_count_delta: 60, requests_failed: 0, counters_reset: false });
    expect(m.queue_ns_delta).toBe(after.queueNs - before.queueNs);
    expect(m.compute_ns_delta).toBe(after.computeNs - before.computeNs);
    expect(m.queue_time_ms).toBeCloseTo((after.queueNs - before.queueNs) / 60 / 1e6, 9);
    // Forty requests at once on one execution slot: most of them waited.
    expect(m.queue_time_ms).toBeGreaterThan(0);
    expect(m.interval_ms).toBeGreaterThanOrEqual(elapsed);
    expect(m.rps).toBeCloseTo(60 / (m.interval_ms / 1000), 9);
    expect(m.inflight).toBeCloseTo((m.queue_ns_delta + m.compute_ns_delta) / (m.interval_ms * 1e6), 9);
    // Little's law cannot count more requests in flight than were sent at once.
    expect(m.inflight).toBeLessThanOrEqual(40);
  }, 30_000);

  it("reads a restarted server's counters from zero: the deltas are what the new server counted", async () => {
    await burst(10);
    await tracker.poll();
    await server.kill("SIGKILL");
    await expect(tracker.poll()).rejects.toMatchObject({ _tag: "ServerError", reason: "Unreachable" });
    server = await startModelServerProcess(root, port);
    await client.load("simple");
    await burst(4);
    const m = metricsOf(await tracker.poll(), "simple");
    const fresh = await statsOf("simple");
    expect(m).toMatchObject({ counters_reset: true, requests_completed: 4, queue_count_delta: 4, queue_ns_delta: fresh.queueNs, compute_ns_delta: fresh.computeNs });
    // And the next interval counts from the new server's counters again.
    await burst(2);
    expect(metricsOf(await tracker.poll(), "simple")).toMatchObject({ counters_reset: false, requests_completed: 2 });
  }, 30_000);
});
