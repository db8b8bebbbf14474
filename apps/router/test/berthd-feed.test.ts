// The router fed by a real berthd (child process, process backend: real model servers and
// sidecars): a Ready lease becomes a route, an inference through the router returns the
// model's numbers, the router's activity renews the lease, a release takes the route away,
// and a berthd killed and restarted on the same state is followed again without losing routes.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBerthClient, timestampToMs, type BerthClient, type Lease, type Server } from "@berth/api/berth";
import { followBerthd, type BerthdFeed } from "../src/berthd-feed.js";
import { replicaId, routeSetFromBerthd } from "../src/berthd-routes.js";
import { InMemoryRouteTable } from "../src/route-table.js";
import { startRouter, type RunningRouter } from "../src/router.js";
import { startBerthdProcess, type BerthdProcess } from "./berthd-process.js";

const INPUT0 = Array.from({ length: 16 }, (_, i) => i * 3);
const INPUT1 = Array.from({ length: 16 }, (_, i) => 16 - i);

const lease = (name: string, phase: Lease["phase"], serverId: string, endpoints: string[], models = ["simple"]): Lease =>
  ({
    id: `id-${name}`,
    name,
    tenant: "default",
    phase,
    spec: { name, models: models.map((m) => ({ name: m, version: 0, repository: "" })), renewal: { enabled: true, activityWindow: "5m" } },
    placement: { serverId, node: "local", gpuIndices: [0], replicas: endpoints.length, readyReplicas: endpoints.length, endpoints },
  }) as unknown as Lease;

describe("routeSetFromBerthd", () => {
  it("routes Ready and Expiring leases with endpoints, preferring the server listing's endpoints", () => {
    const servers = new Map([["s1", { id: "s1", endpoints: ["127.0.0.1:9002", "127.0.0.1:9001"] } as unknown as Server]]);
    const set = routeSetFromBerthd(
      [
        lease("b", "LEASE_PHASE_READY", "s1", ["127.0.0.1:9001"], ["simple", "simple", "mlp"]),
        lease("a", "LEASE_PHASE_EXPIRING", "s2", ["127.0.0.1:9100"]),
        lease("loading", "LEASE_PHASE_LOADING", "s3", ["127.0.0.1:9200"]),
        lease("failed", "LEASE_PHASE_FAILED", "s3", ["127.0.0.1:9200"]),
        lease("nowhere", "LEASE_PHASE_READY", "s4", []),
        lease("sim", "LEASE_PHASE_READY", "s5", ["sim://s5/0"]),
      ],
      servers,
      { "*": { mode: "reject", retryAfterS: 3 } },
    );
    expect(set.leases).toEqual([
      { name: "a", phase: "Expiring", models: ["simple"], replicas: [{ id: replicaId("s2", "127.0.0.1:9100"), http: "127.0.0.1:9100" }] },
      {
        name: "b",
        phase: "Ready",
        models: ["simple", "mlp"],
        replicas: [
          { id: "s1@127.0.0.1:9001", http: "127.0.0.1:9001" },
          { id: "s1@127.0.0.1:9002", http: "127.0.0.1:9002" },
        ],
      },
    ]);
    expect(set.autoLease).toEqual({ "*": { mode: "reject", retryAfterS: 3 } });
  });

  it("bridges berthd's re-checks: a routed lease Loading again on its server, or Ready without endpoints yet, keeps its route", () => {
    const first = routeSetFromBerthd([lease("r", "LEASE_PHASE_READY", "s1", ["127.0.0.1:9001"])], new Map());
    expect(first.leases).toHaveLength(1);
    expect(routeSetFromBerthd([lease("r", "LEASE_PHASE_LOADING", "s1", [])], new Map(), {}, first).leases).toEqual(first.leases);
    expect(routeSetFromBerthd([lease("r", "LEASE_PHASE_READY", "s1", [])], new Map(), {}, first).leases).toEqual(first.leases);
    // ...but not on another server, not once it is neither Ready nor Loading, and not without a route before.
    expect(routeSetFromBerthd([lease("r", "LEASE_PHASE_LOADING", "s2", [])], new Map(), {}, first).leases).toEqual([]);
    expect(routeSetFromBerthd([lease("r", "LEASE_PHASE_RELEASED", "s1", [])], new Map(), {}, first).leases).toEqual([]);
    expect(routeSetFromBerthd([lease("r", "LEASE_PHASE_LOADING", "s1", ["127.0.0.1:9001"])], new Map()).leases).toEqual([]);
  });

  it("pairs each replica's gRPC endpoint with its HTTP one (index for index), from the server listing or the placement", () => {
    const servers = new Map([
      ["s1", { id: "s1", endpoints: ["127.0.0.1:9002", "127.0.0.1:9001"], grpcEndpoints: ["127.0.0.1:9102", "127.0.0.1:9101"] } as unknown as Server],
    ]);
    const placed = (name: string, serverId: string, endpoints: string[], grpcEndpoints: string[]) => {
      const l = lease(name, "LEASE_PHASE_READY", serverId, endpoints);
      return { ...l, placement: { ...l.placement!, grpcEndpoints } } as Lease;
    };
    const set = routeSetFromBerthd([placed("a", "s1", [], []), placed("b", "s2", ["127.0.0.1:9200", "127.0.0.1:9201"], ["127.0.0.1:9300", ""])], servers);
    expect(set.leases.map((l) => l.replicas)).toEqual([
      [
        { id: "s1@127.0.0.1:9001", http: "127.0.0.1:9001", grpc: "127.0.0.1:9101" },
        { id: "s1@127.0.0.1:9002", http: "127.0.0.1:9002", grpc: "127.0.0.1:9102" },
      ],
      [
        { id: "s2@127.0.0.1:9200", http: "127.0.0.1:9200", grpc: "127.0.0.1:9300" },
        { id: "s2@127.0.0.1:9201", http: "127.0.0.1:9201" },
      ],
    ]);
    // A kept route keeps its gRPC endpoints while berthd re-checks.
    expect(routeSetFromBerthd([placed("a", "s1", [], [])], new Map(), {}, set).leases[0]!.replicas).toEqual(set.leases[0]!.replicas);
  });

  it("gives two leases on one pool server the same replica id", () => {
    const set = routeSetFromBerthd([lease("x", "LEASE_PHASE_READY", "p1", ["127.0.0.1:7000"]), lease("y", "LEASE_PHASE_READY", "p1", ["127.0.0.1:7000"])], new Map());
    expect(new Set(set.leases.flatMap((l) => l.replicas.map((r) => r.id)))).toEqual(new Set(["p1@127.0.0.1:7000"]));
  });
});

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const until = async <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("the router following a real berthd", () => {
  let stateDir: string;
  let listen: string;
  let berthd: BerthdProcess;
  let client: BerthClient;
  let feed: BerthdFeed;
  let router: RunningRouter;
  const routes = new InMemoryRouteTable();

  const infer = async (model = "simple") => {
    const response = await fetch(`http://127.0.0.1:${router.ports.http}/v2/models/${model}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        inputs: [
          { name: "INPUT0", shape: [1, 16], datatype: "INT32", data: INPUT0 },
          { name: "INPUT1", shape: [1, 16], datatype: "INT32", data: INPUT1 },
        ],
      }),
    });
    return { status: response.status, body: (await response.json()) as { outputs?: { name: string; data: number[] }[]; error?: string } };
  };

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "berthd-feed-"));
    listen = `127.0.0.1:${await freePort()}`;
    berthd = await startBerthdProcess({ stateDir, listen });
    client = createBerthClient(listen, { callTimeoutMs: 10_000 });
    feed = followBerthd({
      client,
      routes,
      serverPollMs: 200,
      retryBaseMs: 50,
      retryCapMs: 200,
      autoLease: { mlp_fp32: { mode: "hold", queueCap: 4, timeoutMs: 60_000 } },
      autoLeaseSpec: (model) => ({ name: `auto-${model.replace(/_/g, "-")}`, models: [{ name: model }], resources: { gpuMemory: "256Mi" } }),
      log: () => undefined,
    });
    router = await startRouter({
      host: "127.0.0.1",
      httpPort: 0,
      grpcPort: null,
      picker: "power-of-two",
      routes,
      onActivity: feed.onActivity,
      ...(feed.requestLease !== undefined ? { requestLease: feed.requestLease } : {}),
      activityIntervalMs: 60_000,
      log: () => undefined,
    });
    await feed.synced;
  }, 60_000);

  afterAll(async () => {
    await router?.close();
    await feed?.close();
    client?.close();
    await berthd?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it("routes a Ready lease's model to its server and renews it on activity", async () => {
    expect(routes.loaded).toBe(true);
    expect((await infer()).status).toBe(404);

    let last: Lease | null = null;
    for await (const p of client.lease.create({ spec: { name: "feed-a", models: [{ name: "simple" }], resources: { gpuMemory: "256Mi" }, minDuration: "1s" }, wait: true })) last = p.lease;
    expect(last?.phase).toBe("LEASE_PHASE_READY");

    const answer = await until("an inference through the router", async () => {
      const r = await infer();
      return r.status === 200 ? r.body : undefined;
    });
    expect(answer.outputs?.find((o) => o.name === "OUTPUT0")?.data).toEqual(INPUT0.map((x, i) => x + INPUT1[i]!));
    expect(answer.outputs?.find((o) => o.name === "OUTPUT1")?.data).toEqual(INPUT0.map((x, i) => x - INPUT1[i]!));
    expect(routes.current().leases.map((l) => l.name)).toEqual(["feed-a"]);

    // heldUntil is the lease's expiry: with a minimum duration that ended, the activity window (renewals) holds it.
    const before = timestampToMs((await client.lease.get({ name: "feed-a" })).heldUntil) ?? 0;
    await new Promise((r) => setTimeout(r, 20));
    expect(router.drainActivity()).toEqual([{ lease: "feed-a", requests: 1 }]);
    await until("the renewal", () => (feed.stats().renewals >= 1 ? true : undefined), 10_000);
    const after = timestampToMs((await client.lease.get({ name: "feed-a" })).heldUntil) ?? 0;
    expect(after).toBeGreaterThan(before);
  }, 90_000);

  it("keeps routing while berthd is down, and follows the restarted berthd", async () => {
    await berthd.kill();
    // The servers outlive berthd (detached), and the last table still reaches them.
    expect((await infer()).status).toBe(200);
    await until("the feed to notice", () => (feed.stats().disconnects >= 1 ? true : undefined), 5_000);
    const syncsBefore = feed.stats().syncs;
    berthd = await startBerthdProcess({ stateDir, listen });
    await until("the feed to follow the new berthd", () => (feed.stats().syncs > syncsBefore ? true : undefined), 10_000);
    expect(routes.current().leases.map((l) => l.name)).toEqual(["feed-a"]);
    expect((await infer()).status).toBe(200);
    await client.lease.release({ name: "feed-a" });
    await until("the route to go", () => (routes.current().leases.length === 0 ? true : undefined), 20_000);
    expect((await infer()).status).toBe(404);
  }, 90_000);

  it("auto-leases a model on its first request: the request is held until the lease is Ready, then served", async () => {
    const response = await fetch(`http://127.0.0.1:${router.ports.http}/v2/models/mlp_fp32/ready`, { signal: AbortSignal.timeout(60_000) });
    expect(response.status).toBe(200);
    const lease = await client.lease.get({ name: "auto-mlp-fp32" });
    expect(lease.phase).toBe("LEASE_PHASE_READY");
    expect(lease.spec?.models.map((m) => m.name)).toEqual(["mlp_fp32"]);
    await client.lease.release({ name: "auto-mlp-fp32" });
  }, 90_000);
});
