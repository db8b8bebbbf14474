// Auto-lease on first request, against a real replica: the request for a model no lease holds
// asks for a lease and waits (hold) or is told to come back (reject).
import { createKServeClient } from "@berth/api/kserve";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeRouteSet, type RouteSetInput } from "../src/route-set.js";
import { startRouter, type RunningRouter } from "../src/router.js";
import { demoRepository, inferJson, range, startReplica, type Replica } from "./upstreams.js";

let repo: Awaited<ReturnType<typeof demoRepository>>;
let replica: Replica;
let router: RunningRouter;
let base: string;
/** What the router asked for, and what the test's "berthd" does about it. */
let asked: { model: string; at: number }[];
let onAsk: (model: string) => Promise<void> | void;

const leaseOn = (policy: RouteSetInput["autoLease"]): RouteSetInput => ({
  leases: [{ name: "auto-simple", models: ["simple"], replicas: [{ id: "r1", http: replica.http, grpc: replica.grpc }] }],
  autoLease: policy,
});

beforeAll(async () => {
  repo = await demoRepository();
  replica = await startReplica(repo.dir);
  router = await startRouter({
    host: "127.0.0.1",
    httpPort: 0,
    grpcPort: 0,
    picker: "power-of-two",
    seed: 1,
    requestLease: (model) => {
      asked.push({ model, at: Date.now() });
      return onAsk(model);
    },
    log: () => {},
  });
  base = `http://127.0.0.1:${router.ports.http}`;
});

afterAll(async () => {
  await router?.close();
  await replica?.stop();
  await repo?.remove();
});

beforeEach(() => {
  asked = [];
  onAsk = () => {};
});

/** Makes the lease's route appear `delayMs` after the router asks, as berthd would once it is Ready. */
const leaseAppearsAfter = (delayMs: number, policy: RouteSetInput["autoLease"]) => () => {
  setTimeout(() => router.routes.set(decodeRouteSet(leaseOn(policy))), delayMs);
};

describe("auto-lease, hold mode", () => {
  it("holds requests until the lease's route appears, asking once, then serves them", async () => {
    const policy = { simple: { mode: "hold" as const, queueCap: 4, timeoutMs: 5_000 } };
    router.routes.set(decodeRouteSet({ autoLease: policy }));
    onAsk = leaseAppearsAfter(300, policy);
    const started = Date.now();
    const answers = await Promise.all(range(3, (i) => inferJson(base, i)));
    const waited = Date.now() - started;
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    answers.forEach((a) => expect(a.json.outputs!.find((o) => o.name === "OUTPUT0")!.data).toEqual(a.expected.sum));
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(asked.map((a) => a.model)).toEqual(["simple"]);
    expect(router.drainActivity()).toEqual([{ lease: "auto-simple", requests: 3 }]);
  });

  it("answers 503 at once when the model's queue is at its cap", async () => {
    const policy = { simple: { mode: "hold" as const, queueCap: 2, timeoutMs: 5_000 } };
    router.routes.set(decodeRouteSet({ autoLease: policy }));
    onAsk = leaseAppearsAfter(400, policy);
    const held = range(2, (i) => inferJson(base, i));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const third = await inferJson(base, 9);
    expect(Date.now() - started).toBeLessThan(200);
    expect(third.status).toBe(503);
    expect(third.json.error).toMatch(/2 request\(s\) already wait .*queue cap 2/);
    expect(third.headers.get("retry-after")).toBe("5");
    expect((await Promise.all(held)).map((a) => a.status)).toEqual([200, 200]);
  });

  it("answers 503 with Retry-After when no lease appears within the timeout", async () => {
    router.routes.set(decodeRouteSet({ autoLease: { "*": { mode: "hold", queueCap: 4, timeoutMs: 300 } } }));
    const started = Date.now();
    const answer = await inferJson(base, 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(answer.status).toBe(503);
    expect(answer.json.error).toBe("no Ready lease for model 'simple' within 300 ms of asking for one");
    expect(answer.headers.get("retry-after")).toBe("1");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/^berth_router_held_requests\{model="simple"\} [1-9]/m);
  });

  it("fails held requests with 503 when asking for the lease fails", async () => {
    router.routes.set(decodeRouteSet({ autoLease: { simple: { mode: "hold", queueCap: 4, timeoutMs: 5_000 } } }));
    onAsk = () => Promise.reject(new Error("quota exceeded for tenant t1"));
    const answer = await inferJson(base, 1);
    expect(answer.status).toBe(503);
    expect(answer.json.error).toBe("asking for a lease on model 'simple' failed: quota exceeded for tenant t1");
  });

  it("holds gRPC calls too", async () => {
    const policy = { simple: { mode: "hold" as const, queueCap: 4, timeoutMs: 5_000 } };
    router.routes.set(decodeRouteSet({ autoLease: policy }));
    onAsk = leaseAppearsAfter(200, policy);
    const client = createKServeClient(`127.0.0.1:${router.ports.grpc}`);
    try {
      const response = await client.modelInfer({
        model_name: "simple",
        inputs: ["INPUT0", "INPUT1"].map((name, k) => ({ name, datatype: "INT32", shape: [1, 16], contents: { int_contents: range(16, (i) => i * (k + 2)) } })),
      });
      expect(response.model_name).toBe("simple");
      expect(asked).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});

describe("auto-lease, reject mode", () => {
  it("answers 503 with Retry-After and asks for the lease once per Retry-After period", async () => {
    router.routes.set(decodeRouteSet({ autoLease: { simple: { mode: "reject", retryAfterS: 7 } } }));
    const first = await inferJson(base, 1);
    const second = await inferJson(base, 2);
    for (const a of [first, second]) {
      expect(a.status).toBe(503);
      expect(a.headers.get("retry-after")).toBe("7");
      expect(a.json.error).toBe("no Ready lease holds model 'simple'; one has been requested, retry after 7 s");
    }
    expect(asked.map((a) => a.model)).toEqual(["simple"]);
    const client = createKServeClient(`127.0.0.1:${router.ports.grpc}`);
    try {
      await expect(client.modelReady({ name: "simple" })).rejects.toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      client.close();
    }
    // Once the lease is Ready the requests flow.
    router.routes.set(decodeRouteSet(leaseOn({ simple: { mode: "reject", retryAfterS: 7 } })));
    expect((await inferJson(base, 3)).status).toBe(200);
  });

  it("does not auto-lease a model without a policy", async () => {
    router.routes.set(decodeRouteSet({ autoLease: { other: { mode: "reject", retryAfterS: 7 } } }));
    expect((await inferJson(base, 1)).status).toBe(404);
    expect(asked).toEqual([]);
  });
});
