import { Clock, Duration, Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBerthClient, type BerthClient } from "@berth/api/berth";
import { openSidecarStream, type ModelActivity } from "@berth/api/sidecar";
import type { MetricSample } from "@berth/core";
import { berthdLayer } from "../src/berthd.js";
import { loadConfig } from "../src/config/load.js";
import { GrpcServer } from "../src/api/grpc-server.js";
import { leaseMetricSample, loadOfActivity, type ModelLoad } from "../src/executor/lease-metrics.js";
import { collect, eventually, tempStateDir } from "./harness.js";

// berthd scaling a bespoke lease on queue_time from its replicas' metric reports: real berthd
// layers (SQLite store, engine on core.decide, executor, sim backend, gRPC), and a test client
// on SidecarService.Connect for each replica, reporting ModelMetrics as the sidecar does.
// HPA holds a scale-down for its 5-minute stabilization window, which berthd does not let an
// operator shorten; so this berthd runs on a clock FACTOR times faster than the wall clock
// (every timer, sleep and timestamp of its runtime): 5 minutes pass in 6 s. The sidecars'
// intervals are stated in that time too.

const FACTOR = 50;
const REPORT_EVERY_MS = 40;

const acceleratedClock = (factor: number): Clock.Clock => {
  const origin = Date.now();
  const now = () => origin + (Date.now() - origin) * factor;
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => BigInt(Math.round(now() * 1e6)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(now() * 1e6))),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration) / factor);
        return Effect.sync(() => clearTimeout(timer));
      }),
  };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One model's report over `intervalMs`: `completed` requests that each queued `queueMs` and computed `computeMs`. */
const report = (model: string, completed: number, queueMs: number, computeMs: number, intervalMs: number): ModelActivity => {
  const queueNs = completed * queueMs * 1e6;
  const computeNs = completed * computeMs * 1e6;
  return {
    model,
    inference_count_delta: completed,
    execution_count_delta: completed,
    last_inference_ms: Date.now(),
    metrics: {
      interval_ms: intervalMs,
      requests_completed: completed,
      requests_failed: 0,
      queue_count_delta: completed,
      queue_ns_delta: queueNs,
      compute_ns_delta: computeNs,
      queue_time_ms: completed > 0 ? queueMs : 0,
      inflight: (queueNs + computeNs) / (intervalMs * 1e6),
      rps: completed / (intervalMs / 1000),
      counters_reset: false,
    },
  };
};

describe("a lease's samples from its replicas' reports (pure)", () => {
  const load = (model: ModelActivity): ModelLoad => loadOfActivity(model, undefined)!;
  const replica = (...models: ModelActivity[]) => new Map(models.map((m) => [m.model, load(m)]));

  it("queue_time is the mean over every completed request of the lease, inflight and rps the per-replica means", () => {
    // Replica a: 10 requests at 100 ms queue; b: 30 at 20 ms; both over 1 s, 10 ms compute each.
    const a = replica(report("m", 10, 100, 10, 1000), report("other", 99, 999, 1, 1000));
    const b = replica(report("m", 30, 20, 10, 1000));
    const models = new Set(["m"]);
    const queue = leaseMetricSample("queue_time", models, [a, b], 3)!;
    expect(queue.value).toBeCloseTo((10 * 100 + 30 * 20) / 40, 9);
    expect(queue).toMatchObject<Partial<MetricSample>>({ readyReplicas: 2, arrivalRate: 40 });
    expect(queue.meanServiceMs).toBeCloseTo(10, 9);
    // Requests waiting on average: 1 s of queueing per second on a, 0.6 on b.
    expect(queue.queued).toBeCloseTo(1.6, 9);
    expect(leaseMetricSample("inflight", models, [a, b], 3)!.value).toBeCloseTo((10 * 0.11 + 30 * 0.03) / 2, 9);
    expect(leaseMetricSample("rps", models, [a, b], 3)!.value).toBeCloseTo(20, 9);
    // A replica being removed may still report: never more replicas than the server has.
    expect(leaseMetricSample("rps", models, [a, b], 1)!.readyReplicas).toBe(1);
  });

  it("an idle period reads as zero, not as missing; reports without timings give rps only", () => {
    expect(leaseMetricSample("queue_time", new Set(["m"]), [replica(report("m", 0, 0, 0, 1000))], 1)).toMatchObject({ value: 0, readyReplicas: 1 });
    const untimed = new Map([["m", loadOfActivity({ model: "m", inference_count_delta: 8, execution_count_delta: 4, last_inference_ms: 0 }, 2000)!]]);
    expect(leaseMetricSample("rps", new Set(["m"]), [untimed], 1)).toMatchObject({ value: 4, readyReplicas: 1 });
    expect(leaseMetricSample("queue_time", new Set(["m"]), [untimed], 1)).toBeUndefined();
    expect(leaseMetricSample("queue_time", new Set(["m"]), [], 1)).toBeUndefined();
  });
});

/** berthd with the sim backend on the accelerated clock, on free ports. */
async function startAcceleratedBerthd() {
  const stateDir = tempStateDir();
  const config = await Effect.runPromise(
    loadConfig({
      inline: {
        listen: "127.0.0.1:0",
        http: "127.0.0.1:0",
        stateDir,
        // The sim's own sidecars never load (1 h): the test's sidecar reports Loaded.
        backend: { kind: "sim", sim: { startup: "1s", load: "1h" } },
        autoscaler: { syncPeriod: "5s" },
      },
      env: {},
      cwd: stateDir,
    }),
  );
  const runtime = ManagedRuntime.make(
    berthdLayer(config).pipe(Layer.provide(Layer.setClock(acceleratedClock(FACTOR))), Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))),
  );
  const grpc = await runtime.runPromise(GrpcServer);
  return { runtime, api: createBerthClient(grpc.address), sidecarAddress: grpc.sidecarAddress };
}

describe("autoscaling on queue_time from the sidecars' metric reports", () => {
  let berthd: Awaited<ReturnType<typeof startAcceleratedBerthd>> | undefined;
  let api: BerthClient;
  let sidecarAddress: string;

  beforeAll(async () => {
    berthd = await startAcceleratedBerthd();
    ({ api, sidecarAddress } = berthd);
  }, 30_000);

  afterAll(async () => {
    berthd?.api.close();
    await berthd?.runtime.dispose();
  });

  it("scales out to at most maxReplicas while requests queue, and back to minReplicas after the stabilization window", async () => {
    const autoscaling = { metric: "queue_time", target: 50, minReplicas: 1, maxReplicas: 3, policy: "hpa" };
    const [accepted] = await collect(api.lease.create({ spec: { name: "queued", models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" }, minDuration: "24h", autoscaling } }));
    const serverId = accepted!.lease!.placement!.serverId;
    await eventually("Loading", async () => ((await api.lease.get({ name: "queued" })).phase === "LEASE_PHASE_LOADING" ? true : undefined));

    // One sidecar per replica, each reporting every REPORT_EVERY_MS (berthd's time: x FACTOR).
    let queueMs = 200;
    const sidecars: ReturnType<typeof openSidecarStream>[] = [];
    const connect = (index: number) => {
      const sidecar = openSidecarStream(sidecarAddress);
      sidecar.stream.on("data", () => undefined);
      sidecar.stream.on("error", () => undefined);
      sidecar.stream.write({ hello: { server_id: serverId, replica_id: `${serverId}-${index}`, server_endpoint: `127.0.0.1:${9000 + index}`, loaded_models: [], generation: 0 } });
      sidecars.push(sidecar);
      return sidecar;
    };
    const first = connect(0);
    const assignment = await new Promise<{ generation: number; leases: { lease_id: string }[] }>((resolve) =>
      first.stream.on("data", (a: { generation: number; leases: { lease_id: string }[] }) => a.leases.length > 0 && resolve(a)),
    );
    first.stream.write({ lease: { lease_id: assignment.leases[0]!.lease_id, generation: assignment.generation, loaded: { measured_memory_bytes: 1000, load_time_ms: 1, models: [] } } });
    await eventually("Ready", async () => ((await api.lease.get({ name: "queued" })).phase === "LEASE_PHASE_READY" ? true : undefined));

    let replicas = 1;
    const seen: number[] = [];
    let reporting = true;
    const reporter = (async () => {
      while (reporting) {
        await sleep(REPORT_EVERY_MS);
        replicas = (await api.server.get({ id: serverId })).replicas;
        seen.push(replicas);
        while (sidecars.length < replicas) connect(sidecars.length);
        // 20 requests per report on each replica, each queued queueMs and computed 5 ms.
        for (const s of sidecars.slice(0, replicas)) s.stream.write({ activity: { models: [report("simple", 20, queueMs, 5, REPORT_EVERY_MS * FACTOR)] } });
      }
    })();

    try {
      // 200 ms queued against a target of 50: HPA wants 4 x the replicas, bounded by 3.
      await eventually("3 replicas", () => (replicas === 3 ? true : undefined), 15_000);
      await sleep(1000);
      expect(replicas).toBe(3);

      // Requests barely wait now: HPA wants 1, but holds 3 for its 5-minute window (6 s here).
      queueMs = 2;
      const lowFrom = Date.now();
      await eventually("back to 1 replica", () => (replicas === 1 ? true : undefined), 20_000);
      const heldForMs = (Date.now() - lowFrom) * FACTOR;
      expect(heldForMs).toBeGreaterThanOrEqual(300_000 - 15_000);
      expect(Math.max(...seen)).toBeLessThanOrEqual(3);
      expect(Math.min(...seen)).toBeGreaterThanOrEqual(1);

      const explained = await api.lease.explain({ name: "queued" });
      const scalings = explained.decisions.filter((d) => d.kind === "scaling");
      expect(scalings.length).toBeGreaterThanOrEqual(2);
      // Each says how many replicas it went from and to, and what the autoscaler read and why.
      const out = scalings.find((d) => d.scaling !== null && d.scaling.to > d.scaling.from)!;
      expect(out.scaling!.from).toBeGreaterThanOrEqual(1);
      expect(out.scaling!.to).toBeLessThanOrEqual(3);
      expect(Object.keys(out.scaling!.reason)).toEqual(expect.arrayContaining(["rule", "recommended", "desired"]));
      const back = scalings.find((d) => d.scaling !== null && d.scaling.to < d.scaling.from);
      expect(back?.scaling?.to).toBe(1);
    } finally {
      reporting = false;
      await reporter;
      for (const s of sidecars) {
        s.stream.end();
        s.client.close();
      }
    }
  }, 60_000);
});
