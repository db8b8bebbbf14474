// The router against real upstreams: two model-server replicas (child processes) behind a
// lease, the router in-process.
import { createKServeClient, type KServeClient } from "@berth/api/kserve";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeRouteSet, type RouteSetInput } from "../src/route-set.js";
import { startRouter, type RunningRouter } from "../src/router.js";
import { closedPort, demoRepository, inferJson, range, slowFront, startReplica, successCount, type Replica } from "./upstreams.js";

let repo: Awaited<ReturnType<typeof demoRepository>>;
let r1: Replica;
let r2: Replica;
let router: RunningRouter;
let base: string;
let grpcClient: KServeClient;
const activity: { lease: string; requests: number }[] = [];

const twoReplicas = (): RouteSetInput => ({
  leases: [
    {
      name: "demo",
      models: ["simple"],
      replicas: [
        { id: "r1", http: r1.http, grpc: r1.grpc },
        { id: "r2", http: r2.http, grpc: r2.grpc },
      ],
    },
  ],
});

beforeAll(async () => {
  repo = await demoRepository();
  [r1, r2] = await Promise.all([startReplica(repo.dir), startReplica(repo.dir)]);
  router = await startRouter({
    host: "127.0.0.1",
    httpPort: 0,
    grpcPort: 0,
    picker: "power-of-two",
    seed: 7,
    activityIntervalMs: 3_600_000,
    onActivity: (lease, requests) => activity.push({ lease, requests }),
  });
  base = `http://127.0.0.1:${router.ports.http}`;
  grpcClient = createKServeClient(`127.0.0.1:${router.ports.grpc}`);
});

afterAll(async () => {
  grpcClient?.close();
  await router?.close();
  await Promise.all([r1?.stop(), r2?.stop()]);
  await repo?.remove();
});

beforeEach(() => {
  router.routes.set(decodeRouteSet(twoReplicas()));
  router.drainActivity();
  activity.length = 0;
});

const int32Raw = (values: number[]) => Buffer.from(Int32Array.from(values).buffer);
const readInt32 = (b: Uint8Array) => Array.from(new Int32Array(Uint8Array.prototype.slice.call(b).buffer));

describe("HTTP inference through the router", () => {
  it("returns the right sums and differences over JSON", async () => {
    for (const seed of [1, 1000, -77]) {
      const { status: code, json, expected } = await inferJson(base, seed);
      expect(code).toBe(200);
      expect(json.outputs!.find((o) => o.name === "OUTPUT0")!.data).toEqual(expected.sum);
      expect(json.outputs!.find((o) => o.name === "OUTPUT1")!.data).toEqual(expected.difference);
    }
  });

  it("streams binary tensors both ways and keeps Inference-Header-Content-Length", async () => {
    const a = range(16, (i) => 2 ** 30 - i * 3);
    const b = range(16, (i) => -i * 1001);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "INPUT0", datatype: "INT32", shape: [1, 16], parameters: { binary_data_size: 64 } },
          { name: "INPUT1", datatype: "INT32", shape: [1, 16], parameters: { binary_data_size: 64 } },
        ],
        outputs: [{ name: "OUTPUT0", parameters: { binary_data: true } }, { name: "OUTPUT1", parameters: { binary_data: true } }],
      }),
    );
    const res = await fetch(`${base}/v2/models/simple/infer`, {
      method: "POST",
      body: Buffer.concat([header, int32Raw(a), int32Raw(b)]),
      headers: { "Inference-Header-Content-Length": String(header.length), "content-type": "application/octet-stream" },
    });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get("inference-header-content-length"));
    expect(headerLength).toBeGreaterThan(0);
    const json = JSON.parse(body.subarray(0, headerLength).toString()) as { outputs: { name: string; parameters: { binary_data_size: number } }[] };
    expect(json.outputs.map((o) => [o.name, o.parameters.binary_data_size])).toEqual([["OUTPUT0", 64], ["OUTPUT1", 64]]);
    expect(readInt32(body.subarray(headerLength, headerLength + 64))).toEqual(a.map((x, i) => (x + b[i]) | 0));
    expect(readInt32(body.subarray(headerLength + 64, headerLength + 128))).toEqual(a.map((x, i) => (x - b[i]) | 0));
  });

  it("forwards model metadata and readiness, and answers health and server metadata itself", async () => {
    const meta = (await (await fetch(`${base}/v2/models/simple`)).json()) as { name: string; inputs: unknown[] };
    expect(meta.name).toBe("simple");
    expect(meta.inputs).toHaveLength(2);
    expect((await fetch(`${base}/v2/models/simple/versions/1/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    expect(((await (await fetch(`${base}/v2`)).json()) as { name: string }).name).toBe("berth-router");
    const repoIndex = await fetch(`${base}/v2/repository/index`, { method: "POST" });
    expect(repoIndex.status).toBe(403);
  });

  it("spreads requests across both replicas", async () => {
    const before = await Promise.all([successCount(r1.http), successCount(r2.http)]);
    const answers = await Promise.all(range(40, (i) => inferJson(base, i)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const after = await Promise.all([successCount(r1.http), successCount(r2.http)]);
    const served = [after[0] - before[0], after[1] - before[1]];
    expect(served[0] + served[1]).toBe(40);
    expect(Math.min(...served)).toBeGreaterThanOrEqual(5);
  });

  it("sends fewer requests to a slow replica (outstanding-aware picking)", async () => {
    const slow = await slowFront(r2.http, 60);
    try {
      router.routes.set(
        decodeRouteSet({ leases: [{ name: "demo", models: ["simple"], replicas: [{ id: "fast", http: r1.http }, { id: "slow", http: slow.http }] }] }),
      );
      const before = await successCount(r1.http);
      // 8 clients in closed loop, 10 requests each.
      await Promise.all(
        range(8, async (c) => {
          for (let k = 0; k < 10; k++) expect((await inferJson(base, c * 10 + k)).status).toBe(200);
        }),
      );
      const fast = (await successCount(r1.http)) - before;
      expect(fast + slow.count()).toBe(80);
      // Round robin would give each 40; the picker sees the slow one's queue and avoids it.
      expect(slow.count()).toBeLessThan(fast / 2);
    } finally {
      await slow.close();
    }
  });

  it("answers 404 with a clear error for a model no lease holds", async () => {
    const { status: code, json } = await inferJson(base, 1, "no_such_model");
    expect(code).toBe(404);
    expect(json).toEqual({ error: "no Ready lease holds model 'no_such_model'" });
    // A lease that is not Ready does not route either.
    router.routes.set(decodeRouteSet({ leases: [{ name: "demo", phase: "Loading", models: ["simple"], replicas: [{ id: "r1", http: r1.http }] }] }));
    expect((await inferJson(base, 1)).status).toBe(404);
  });

  it("routes to a warm (Expiring) lease only when no Ready lease holds the model", async () => {
    router.routes.set(
      decodeRouteSet({
        leases: [
          { name: "old", phase: "Expiring", models: ["simple"], replicas: [{ id: "r1", http: r1.http }] },
          { name: "new", phase: "Ready", models: ["simple"], replicas: [{ id: "r2", http: r2.http }] },
        ],
      }),
    );
    const before = await Promise.all([successCount(r1.http), successCount(r2.http)]);
    for (let i = 0; i < 6; i++) expect((await inferJson(base, i)).status).toBe(200);
    const after = await Promise.all([successCount(r1.http), successCount(r2.http)]);
    expect([after[0] - before[0], after[1] - before[1]]).toEqual([0, 6]);
    router.routes.set(decodeRouteSet({ leases: [{ name: "old", phase: "Expiring", models: ["simple"], replicas: [{ id: "r1", http: r1.http }] }] }));
    expect((await inferJson(base, 1)).status).toBe(200);
    expect(router.drainActivity()).toEqual([{ lease: "new", requests: 6 }, { lease: "old", requests: 1 }]);
  });

  it("answers 503 when every replica is down, and says so", async () => {
    const [p1, p2] = await Promise.all([closedPort(), closedPort()]);
    router.routes.set(
      decodeRouteSet({ leases: [{ name: "gone", models: ["simple"], replicas: [{ id: "d1", http: `127.0.0.1:${p1}` }, { id: "d2", http: `127.0.0.1:${p2}` }] }] }),
    );
    const first = await inferJson(base, 1);
    expect(first.status).toBe(503);
    expect(first.json.error).toMatch(/all 2 replica\(s\) of model 'simple' are unavailable/);
    const second = await inferJson(base, 2);
    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after")).toBe("1");
  });

  it("counts activity per lease, drained", async () => {
    await Promise.all(range(7, (i) => inferJson(base, i)));
    await fetch(`${base}/v2/models/simple`);
    await inferJson(base, 1, "no_such_model");
    expect(router.drainActivity()).toEqual([{ lease: "demo", requests: 8 }]);
    expect(activity).toEqual([{ lease: "demo", requests: 8 }]);
    expect(router.drainActivity()).toEqual([]);
  });

  it("exposes requests by model and code, latency and outstanding on /metrics", async () => {
    await inferJson(base, 3);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^berth_router_requests_total\{code="200",model="simple",protocol="http"\} \d+$/m);
    expect(text).toMatch(/^berth_router_requests_total\{code="404",model="_unrouted",protocol="http"\} \d+$/m);
    expect(text).toMatch(/^berth_router_upstream_latency_seconds_count\{model="simple"\} \d+$/m);
    expect(text).toMatch(/^berth_router_outstanding_requests\{replica="r1"\} 0$/m);
    expect(text).toMatch(/^berth_router_ready 1$/m);
  });
});

describe("gRPC through the router", () => {
  it("infers `simple` with raw tensors and answers liveness itself", async () => {
    expect(await grpcClient.serverLive()).toEqual({ live: true });
    expect(await grpcClient.serverReady()).toEqual({ ready: true });
    expect((await grpcClient.serverMetadata()).name).toBe("berth-router");
    const a = range(32, (i) => i * 7 - 100);
    const b = range(32, (i) => 2 ** 24 - i);
    const before = await Promise.all([successCount(r1.http), successCount(r2.http)]);
    for (let k = 0; k < 10; k++) {
      const response = await grpcClient.modelInfer({
        model_name: "simple",
        id: `g${k}`,
        inputs: [
          { name: "INPUT0", datatype: "INT32", shape: [2, 16] },
          { name: "INPUT1", datatype: "INT32", shape: [2, 16] },
        ],
        raw_input_contents: [int32Raw(a), int32Raw(b)],
      });
      expect(response).toMatchObject({ model_name: "simple", id: `g${k}` });
      expect(readInt32(response.raw_output_contents[0])).toEqual(a.map((x, i) => x + b[i]));
      expect(readInt32(response.raw_output_contents[1])).toEqual(a.map((x, i) => x - b[i]));
    }
    const after = await Promise.all([successCount(r1.http), successCount(r2.http)]);
    expect(after[0] - before[0] + (after[1] - before[1])).toBe(10);
    expect(await grpcClient.modelReady({ name: "simple" })).toEqual({ ready: true });
    expect(router.drainActivity()).toEqual([{ lease: "demo", requests: 11 }]);
  });

  it("answers NOT_FOUND for a model no lease holds, and refuses the repository API", async () => {
    await expect(grpcClient.modelInfer({ model_name: "nope", inputs: [] })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: "no Ready lease holds model 'nope'",
    });
    await expect(grpcClient.repositoryModelLoad({ model_name: "simple" })).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it("passes the upstream's own errors through unchanged", async () => {
    // `simple` exists, but INPUT0 is missing: the replica's INVALID_ARGUMENT comes back as is.
    const e = await grpcClient.modelInfer({ model_name: "simple", inputs: [{ name: "INPUT1", datatype: "INT32", shape: [1, 16], contents: { int_contents: range(16, () => 1) } }] }).then(
      () => undefined,
      (err: { code: number; details: string; metadata: Metadata }) => err,
    );
    expect(e?.code).toBe(status.INVALID_ARGUMENT);
    expect(e?.details).toMatch(/INPUT0/);
  });
});

describe("a replica killed under traffic", () => {
  it("sends the requests to the other replica", async () => {
    const r3 = await startReplica(repo.dir);
    router.routes.set(
      decodeRouteSet({ leases: [{ name: "demo", models: ["simple"], replicas: [{ id: "r1", http: r1.http, grpc: r1.grpc }, { id: "r3", http: r3.http, grpc: r3.grpc }] }] }),
    );
    // Warm keep-alive connections to both.
    await Promise.all(range(10, (i) => inferJson(base, i)));
    await r3.kill();
    const before = await successCount(r1.http);
    const answers = await Promise.all(range(20, (i) => inferJson(base, i)));
    expect(answers.map((a) => a.status)).toEqual(range(20, () => 200));
    expect((await successCount(r1.http)) - before).toBe(20);
    for (let k = 0; k < 4; k++) await expect(grpcClient.modelInfer({ model_name: "simple", inputs: ["INPUT0", "INPUT1"].map((name) => ({ name, datatype: "INT32", shape: [1, 16], contents: { int_contents: range(16, (i) => i) } })) })).resolves.toMatchObject({ model_name: "simple" });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^berth_router_replica_up\{replica="r3"\} 0$/m);
  });
});
