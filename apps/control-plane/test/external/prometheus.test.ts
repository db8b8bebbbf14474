import { spawn, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isServiceError } from "@berth/api/berth";
import { collect, eventually, spawnBerthd, tempDir, type BerthdProcess } from "./berthd-process.js";
import { skipUnlessTools } from "./python-tools.js";

// berthd's /metrics as a real Prometheus (Debian's) reads them: it scrapes a berthd child process
// every second, and the test asks Prometheus's query API, not berthd, for the lease gauges, the
// operation counters and the placement-latency histogram. A malformed exposition, a wrong type
// or a label clash shows up here as a failed scrape or a missing series.

const skip = skipUnlessTools({ prometheus: true });

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe.skipIf(skip)("a real Prometheus scraping berthd", () => {
  let berthd: BerthdProcess;
  let prometheus: ChildProcess | undefined;
  let prometheusExited: Promise<unknown> = Promise.resolve();
  let promDir: string;
  let promUrl: string;
  let promLog = "";

  const query = async (expr: string): Promise<Sample[]> => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; data?: { resultType: string; result: Sample[] }; error?: string };
    if (body.status !== "success") throw new Error(`query ${expr}: ${body.error}`);
    return body.data!.result;
  };
  /** The single value of an instant query, once Prometheus has scraped a sample equal to `want`. */
  const valueOnceScraped = (expr: string, want: number) =>
    eventually(`${expr} == ${want} in Prometheus`, async () => {
      const result = await query(expr);
      return result.length === 1 && Number(result[0]!.value[1]) === want ? Number(result[0]!.value[1]) : undefined;
    }, 20_000);

  beforeAll(async () => {
    berthd = await spawnBerthd();
    promDir = tempDir("prometheus");
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const target = berthd.http.replace(/^http:\/\//, "");
    const config = [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: berthd",
      "    metrics_path: /metrics",
      `    static_configs: [{ targets: ["${target}"] }]`,
      "",
    ].join("\n");
    writeFileSync(join(promDir, "prometheus.yml"), config);
    const child = spawn(
      "/usr/bin/prometheus",
      [`--config.file=${join(promDir, "prometheus.yml")}`, `--storage.tsdb.path=${join(promDir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--web.enable-lifecycle"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus = child;
    prometheusExited = new Promise((done) => child.once("exit", done));
    child.stdout!.on("data", (c: Buffer) => (promLog += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (promLog += c.toString()));
    await eventually("Prometheus ready", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${promLog}`);
    });
  }, 150_000);

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      prometheus.kill("SIGTERM");
      const timer = setTimeout(() => prometheus?.kill("SIGKILL"), 5000);
      await prometheusExited;
      clearTimeout(timer);
    }
    await berthd?.stop();
    if (promDir !== undefined) rmSync(promDir, { recursive: true, force: true });
    if (berthd !== undefined) rmSync(berthd.stateDir, { recursive: true, force: true });
  });

  it("scrapes berthd: the target is up", async () => {
    await valueOnceScraped('up{job="berthd"}', 1);
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
    expect(targets.data.activeTargets.map((t) => [t.health, t.lastError])).toEqual([["up", ""]]);
  });

  it("sees leases by phase, lease operations by result and the placement latency histogram", async () => {
    const client = berthd.client();
    const spec = (name: string) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" } });
    for (const name of ["m-one", "m-two", "m-three"]) {
      const progress = await collect(client.lease.create({ spec: spec(name), wait: true }));
      expect(progress.at(-1)?.lease?.phase).toBe("LEASE_PHASE_READY");
    }
    await client.lease.release({ name: "m-three" });
    await client.lease.renew({ name: "m-one", extendBy: "1h" });
    const code = async (call: Promise<unknown>) => call.then(() => grpc.status.OK, (e: unknown) => (isServiceError(e) ? e.code : -1));
    expect(await code(client.lease.get({ name: "no-such-lease" }))).toBe(grpc.status.NOT_FOUND);
    expect(await code(collect(client.lease.create({ spec: spec("m-one") })))).toBe(grpc.status.ALREADY_EXISTS);

    // Gauges: the state as berthd holds it.
    await valueOnceScraped('berth_leases{phase="Ready"}', 2);
    await valueOnceScraped('berth_leases{phase="Released"}', 1);
    await valueOnceScraped('berth_leases{phase="Failed"}', 0);
    await valueOnceScraped('sum(berth_servers{state="Ready"})', 2);
    // Counters: each call by operation and result (the gRPC code name).
    await valueOnceScraped('berth_lease_operations_total{operation="create",result="ok"}', 3);
    await valueOnceScraped('berth_lease_operations_total{operation="create",result="ALREADY_EXISTS"}', 1);
    await valueOnceScraped('berth_lease_operations_total{operation="get",result="NOT_FOUND"}', 1);
    await valueOnceScraped('berth_lease_operations_total{operation="release",result="ok"}', 1);
    await valueOnceScraped('berth_lease_operations_total{operation="renew",result="ok"}', 1);
    // Histogram: one placement per accepted Create; buckets cumulative up to +Inf = count.
    await valueOnceScraped("berth_placement_duration_seconds_count", 3);
    await valueOnceScraped('berth_placement_duration_seconds_bucket{le="+Inf"}', 3);
    const buckets = (await query("berth_placement_duration_seconds_bucket")).map((s) => [s.metric.le === "+Inf" ? Infinity : Number(s.metric.le), Number(s.value[1])] as const);
    buckets.sort((a, b) => a[0] - b[0]);
    expect(buckets.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
    const p99 = await query("histogram_quantile(0.99, berth_placement_duration_seconds_bucket)");
    expect(Number(p99[0]?.value[1])).toBeGreaterThan(0);
    expect(Number(p99[0]?.value[1])).toBeLessThanOrEqual(1);
    await valueOnceScraped("berth_lease_ready_seconds_count", 3);
    // Every scrape parsed: samples came, none were rejected.
    expect(Number((await query('scrape_samples_scraped{job="berthd"}'))[0]?.value[1])).toBeGreaterThan(20);
  });
});
