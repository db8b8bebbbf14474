import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolationsOf, isServiceError, type BerthClient, type LeaseEvent } from "@berth/api/berth";
import { openSidecarStream } from "@berth/api/sidecar";
import { codeOf, collect, eventually, startBerthd, type RunningBerthd } from "./harness.js";

// A real berthd (sim backend, SQLite store) and real gRPC clients: every lease verb and every
// error code the API promises.

const AUTH = {
  tokens: [
    { token: "admin-token", tenant: "ops", admin: true },
    { token: "a-token", tenant: "team-a" },
    { token: "b-token", tenant: "team-b" },
  ],
  tenants: { "team-b": { gpuMemoryQuota: "1Gi" } },
};

const spec = (name: string, extra: Record<string, unknown> = {}) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" }, ...extra });

describe("berthd gRPC API", () => {
  let berthd: RunningBerthd;
  let a: BerthClient;
  let b: BerthClient;
  let admin: BerthClient;

  beforeAll(async () => {
    berthd = await startBerthd({ config: { auth: AUTH, nodes: [{ name: "n1", gpus: [{ model: "A10", memory: "8Gi" }, { model: "A10", memory: "8Gi" }] }] } });
    a = berthd.client("a-token");
    b = berthd.client("b-token");
    admin = berthd.client("admin-token");
  });
  afterAll(async () => {
    await berthd?.stop();
  });

  it("creates a lease and streams its progress until Ready", async () => {
    const progress = await collect(a.lease.create({ spec: spec("vision"), wait: true }));
    const last = progress.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.lease?.phase).toBe("LEASE_PHASE_READY");
    expect(last.lease?.tenant).toBe("team-a");
    expect(last.lease?.placement?.serverId).not.toBe("");
    expect(progress.map((p) => p.lease?.phase)).toContain("LEASE_PHASE_LOADING");
    const got = await a.lease.get({ name: "vision" });
    expect(got.id).toBe(last.lease?.id);
    expect(got.phase).toBe("LEASE_PHASE_READY");
  });

  it("declares GPU memory from the models' sizes when a bespoke lease leaves it out", async () => {
    const progress = await collect(a.lease.create({ spec: { name: "no-memory", models: [{ name: "simple" }] }, wait: true }));
    const last = progress.at(-1)!;
    expect(last.lease?.phase).toBe("LEASE_PHASE_READY");
    // simple.onnx is tiny: the estimate is the 256Mi floor.
    expect(last.lease?.spec?.resources?.gpuMemory).toBe("256Mi");
    await a.lease.release({ name: "no-memory" });
  });

  it("lists with tenant, phase and label filters", async () => {
    await collect(a.lease.create({ spec: spec("labelled", { labels: { team: "vision", env: "dev" } }), wait: true }));
    const mine = await a.lease.list({});
    expect(mine.leases.map((l) => l.name).sort()).toEqual(expect.arrayContaining(["labelled", "vision"]));
    expect((await a.lease.list({ labelSelector: "team=vision" })).leases.map((l) => l.name)).toEqual(["labelled"]);
    expect((await a.lease.list({ labelSelector: "env!=dev" })).leases.map((l) => l.name)).not.toContain("labelled");
    expect((await a.lease.list({ phases: ["LEASE_PHASE_FAILED"] })).leases).toEqual([]);
    expect((await b.lease.list({})).leases).toEqual([]);
    expect((await admin.lease.list({ tenant: "team-a" })).leases.length).toBe(mine.leases.length);
  });

  it("renews, explains and releases", async () => {
    const before = await a.lease.get({ name: "labelled" });
    const renewed = await a.lease.renew({ name: "labelled", extendBy: "2h" });
    expect(Number(renewed.heldUntil?.seconds)).toBeGreaterThan(Number(before.expiresAt?.seconds ?? 0) - 1);
    const explained = await a.lease.explain({ name: "labelled" });
    expect(explained.decisions.some((d) => d.kind === "placement")).toBe(true);
    expect(explained.decisions.flatMap((d) => d.verdicts).length).toBeGreaterThan(0);
    const released = await a.lease.release({ name: "labelled" });
    expect(released.phase).toBe("LEASE_PHASE_RELEASED");
  });

  it("watches: the current leases first, then each change", async () => {
    const seen: LeaseEvent[] = [];
    const iterator = a.lease.watch({ name: "watched" })[Symbol.asyncIterator]();
    const reading = (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        seen.push(next.value);
        if (next.value.lease?.phase === "LEASE_PHASE_READY") return;
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await collect(a.lease.create({ spec: spec("watched") }));
    await reading;
    await iterator.return?.();
    expect(seen[0]?.type).toBe("TYPE_ADDED");
    expect(seen.map((e) => e.lease?.phase)).toEqual(expect.arrayContaining(["LEASE_PHASE_PLACING", "LEASE_PHASE_READY"]));
  });

  it("INVALID_ARGUMENT lists every bad field with its path", async () => {
    try {
      await collect(a.lease.create({ spec: { name: "Bad_Name", models: [], resources: { gpuMemory: "4Gb" } } }));
      expect.unreachable();
    } catch (error) {
      if (!isServiceError(error)) throw error;
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      const fields = fieldViolationsOf(error).map((v) => v.field);
      expect(fields).toEqual(expect.arrayContaining(["name", "models", "resources.gpuMemory"]));
      expect(error.details).toContain("resources.gpuMemory");
    }
  });

  it("NOT_FOUND for an unknown model, repository, lease and pool", async () => {
    expect(await codeOf(collect(a.lease.create({ spec: spec("nomodel", { models: [{ name: "no-such-model" }] }) })))).toBe(grpc.status.NOT_FOUND);
    expect(await codeOf(collect(a.lease.create({ spec: spec("norepo", { models: [{ name: "simple", repository: "elsewhere" }] }) })))).toBe(grpc.status.NOT_FOUND);
    expect(await codeOf(collect(a.lease.create({ spec: spec("noversion", { models: [{ name: "simple", version: 9 }] }) })))).toBe(grpc.status.NOT_FOUND);
    expect(await codeOf(a.lease.get({ name: "missing" }))).toBe(grpc.status.NOT_FOUND);
    expect(await codeOf(collect(a.lease.create({ spec: spec("nopool", { pool: "no-pool", quota: "1Gi" }) })))).toBe(grpc.status.NOT_FOUND);
    expect(await codeOf(admin.pool.get({ name: "no-pool" }))).toBe(grpc.status.NOT_FOUND);
  });

  it("ALREADY_EXISTS for a duplicate name", async () => {
    expect(await codeOf(collect(a.lease.create({ spec: spec("vision") })))).toBe(grpc.status.ALREADY_EXISTS);
  });

  it("FAILED_PRECONDITION for an image not on the allowlist; appending twice changes nothing", async () => {
    expect(await codeOf(collect(a.lease.create({ spec: spec("custom", { image: "example.com/custom:1" }) })))).toBe(grpc.status.FAILED_PRECONDITION);
    const once = await admin.allowlist.append({ images: ["example.com/custom:1"] });
    const twice = await admin.allowlist.append({ images: ["example.com/custom:1"] });
    expect(twice.images).toEqual(once.images);
    expect(twice.images.filter((i) => i === "example.com/custom:1")).toHaveLength(1);
    const created = await collect(a.lease.create({ spec: spec("custom", { image: "example.com/custom:1" }) }));
    expect(created[0]?.lease?.name).toBe("custom");
    await a.lease.release({ name: "custom" });
  });

  it("RESOURCE_EXHAUSTED when a tenant quota is exceeded", async () => {
    await collect(b.lease.create({ spec: spec("b-one", { resources: { gpuMemory: "512Mi" } }) }));
    expect(await codeOf(collect(b.lease.create({ spec: spec("b-two", { resources: { gpuMemory: "768Mi" } }) })))).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("UNAUTHENTICATED without a known token; PERMISSION_DENIED across tenants and for admin verbs", async () => {
    const anonymous = berthd.client();
    const stranger = berthd.client("wrong-token");
    expect(await codeOf(anonymous.lease.list({}))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await codeOf(stranger.lease.get({ name: "vision" }))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await codeOf(b.lease.get({ name: "vision" }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await codeOf(b.lease.release({ name: "vision" }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await codeOf(b.lease.list({ tenant: "team-a" }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await codeOf(a.pool.create({ spec: { name: "p", resources: { gpuMemory: "4Gi" } } }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await codeOf(a.allowlist.append({ images: ["x"] }))).toBe(grpc.status.PERMISSION_DENIED);
    expect((await admin.lease.get({ name: "vision" })).tenant).toBe("team-a");
  });

  it("serves sidecars only on their own loopback listener when auth is on", async () => {
    expect(berthd.sidecars).not.toBe(berthd.grpc);
    expect(berthd.sidecars).toMatch(/^127\.0\.0\.1:\d+$/);
    const onApiPort = openSidecarStream(berthd.grpc);
    const code = await new Promise<number>((resolve) => {
      onApiPort.stream.on("error", (e: grpc.ServiceError) => resolve(e.code));
      onApiPort.stream.write({ hello: { server_id: "srv-1", replica_id: "srv-1-0", server_endpoint: "", loaded_models: [], generation: 0 } });
    });
    onApiPort.client.close();
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
    const onOwnPort = openSidecarStream(berthd.sidecars);
    const first = await new Promise<unknown>((resolve, reject) => {
      onOwnPort.stream.on("data", resolve);
      onOwnPort.stream.on("error", reject);
      onOwnPort.stream.write({ hello: { server_id: "srv-1", replica_id: "srv-1-0", server_endpoint: "", loaded_models: [], generation: 0 } });
    });
    expect(first).toHaveProperty("generation");
    onOwnPort.stream.end();
    onOwnPort.client.close();
  });

  it("pools: create, list, status, duplicate, delete", async () => {
    const pool = await admin.pool.create({ spec: { name: "shared", resources: { gpuMemory: "2Gi", gpus: 0 }, minInstances: 1, maxInstances: 1 } });
    expect(pool.spec?.name).toBe("shared");
    expect(await codeOf(admin.pool.create({ spec: { name: "shared", resources: { gpuMemory: "2Gi" } } }))).toBe(grpc.status.ALREADY_EXISTS);
    expect((await a.pool.list()).pools.map((p) => p.spec?.name)).toContain("shared");
    const status = await eventually("a pool instance", async () => {
      const s = await a.pool.status({ name: "shared" });
      return s.instances.length > 0 ? s : undefined;
    });
    expect(status.instances[0]?.quotaBytes).toBe(2 * 1024 ** 3);
    await admin.pool.delete({ name: "shared" });
    expect(await codeOf(admin.pool.get({ name: "shared" }))).toBe(grpc.status.NOT_FOUND);
  });

  it("servers and repositories", async () => {
    const servers = await a.server.list();
    const vision = await a.lease.get({ name: "vision" });
    const server = servers.servers.find((s) => s.id === vision.placement?.serverId);
    expect(server?.state).toBe("Ready");
    expect(server?.leases).toContain("vision");
    expect(await codeOf(a.server.get({ id: "no-such-server" }))).toBe(grpc.status.NOT_FOUND);
    const models = await a.repository.listModels({});
    expect(models.models.map((m) => m.name)).toContain("simple");
    expect(models.models.find((m) => m.name === "simple")?.group).toBe("onnxruntime");
    expect(await codeOf(a.repository.listModels({ repository: "nope" }))).toBe(grpc.status.NOT_FOUND);
  });

  it("/healthz, /readyz and /metrics", async () => {
    expect((await fetch(`${berthd.http}/healthz`)).status).toBe(200);
    expect((await fetch(`${berthd.http}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${berthd.http}/metrics`)).text();
    for (const name of [
      "berth_leases{phase=\"Ready\"}",
      "berth_lease_operations_total{operation=\"create\",result=\"ok\"}",
      "berth_lease_operations_total{operation=\"create\",result=\"RESOURCE_EXHAUSTED\"}",
      "berth_placement_duration_seconds_bucket",
      "berth_lease_ready_seconds_count",
      "berth_server_gpu_memory_capacity_bytes",
      "berth_server_gpu_memory_committed_bytes",
      "berth_server_gpu_memory_measured_bytes",
      "berth_servers{state=\"Ready\"}",
      "berth_evictions_total",
      "berth_cold_starts_total",
      "berth_reconcile_errors_total",
    ])
      expect(text).toContain(name);
  });
});

describe("berthd capacity", () => {
  let berthd: RunningBerthd;
  beforeAll(async () => {
    berthd = await startBerthd({ config: { nodes: [{ name: "small", gpus: [{ model: "A10", memory: "8Gi" }] }] } });
  });
  afterAll(async () => {
    await berthd?.stop();
  });

  it("RESOURCE_EXHAUSTED when nothing fits and nothing may be evicted; FAILED_PRECONDITION when nothing ever could", async () => {
    const client = berthd.client();
    // On the empty cluster: no node could ever host 9Gi on an 8Gi GPU.
    expect(await codeOf(collect(client.lease.create({ spec: spec("too-big", { resources: { gpuMemory: "9Gi" } }) })))).toBe(grpc.status.FAILED_PRECONDITION);
    const first = await collect(client.lease.create({ spec: spec("big-one", { resources: { gpuMemory: "5Gi" } }), wait: true }));
    expect(first.at(-1)?.lease?.phase).toBe("LEASE_PHASE_READY");
    expect(await codeOf(collect(client.lease.create({ spec: spec("big-two", { resources: { gpuMemory: "5Gi" } }) })))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The failed requests leave nothing behind that blocks their names.
    const leases = await client.lease.list({});
    expect(leases.leases.filter((l) => l.phase === "LEASE_PHASE_READY").map((l) => l.name)).toEqual(["big-one"]);
  });
});

describe("berthd load failures", () => {
  it("a Create that waits ends with the Failed lease and the sidecar's error", async () => {
    const berthd = await startBerthd({ config: { backend: { kind: "sim", sim: { startup: "20ms", load: "20ms", failModelsMatching: "broken" } } } });
    try {
      const progress = await collect(berthd.client().lease.create({ spec: spec("fails", { models: [{ name: "broken" }] }), wait: true }));
      const last = progress.at(-1)!;
      expect(last.done).toBe(true);
      expect(last.lease?.phase).toBe("LEASE_PHASE_FAILED");
      expect(last.lease?.failureReason).toBe("LoadFailed");
      expect(last.lease?.failureMessage).toContain("simulated load failure");
    } finally {
      await berthd.stop();
    }
  });
});
