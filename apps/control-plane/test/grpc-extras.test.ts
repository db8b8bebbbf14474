import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSidecarStream, type Assignment } from "@berth/api/sidecar";
import { collect, eventually, startBerthd, type RunningBerthd } from "./harness.js";

// What grpcurl, probes and sidecars use: grpc.health.v1, server reflection, SidecarService.

const here = dirname(fileURLToPath(import.meta.url));
const reflectionProtoDir = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection")), "..", "proto");

const loadClient = (file: string, includeDirs: string[], path: string[]): grpc.ServiceClientConstructor => {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(file, { includeDirs, keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true }));
  return path.reduce((node: unknown, key) => (node as Record<string, unknown>)[key], pkg) as grpc.ServiceClientConstructor;
};

describe("health, reflection and the sidecar stream", () => {
  let berthd: RunningBerthd;
  beforeAll(async () => {
    // Sim servers whose own sidecars take an hour: the gRPC sidecar below reports first.
    berthd = await startBerthd({ config: { backend: { kind: "sim", sim: { startup: "20ms", load: "1h" } } } });
  });
  afterAll(async () => {
    await berthd?.stop();
  });

  it("answers grpc.health.v1 Check for the server and each service", async () => {
    const Health = loadClient("grpc/health/v1/health.proto", [join(here, "..", "proto")], ["grpc", "health", "v1", "Health"]);
    const client = new Health(berthd.grpc, grpc.credentials.createInsecure()) as unknown as {
      Check(req: unknown, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
      close(): void;
    };
    const check = (service: string) =>
      new Promise<string>((resolve, reject) => client.Check({ service }, (e, r) => (e ? reject(e) : resolve(r.status))));
    expect(await check("")).toBe("SERVING");
    expect(await check("berth.v1.LeaseService")).toBe("SERVING");
    await expect(check("no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    client.close();
  });

  it("lists its services and their files through server reflection (v1)", async () => {
    const Reflection = loadClient("grpc/reflection/v1/reflection.proto", [reflectionProtoDir], ["grpc", "reflection", "v1", "ServerReflection"]);
    const client = new Reflection(berthd.grpc, grpc.credentials.createInsecure()) as unknown as {
      ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, Record<string, unknown>>;
      close(): void;
    };
    const ask = (request: unknown) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const call = client.ServerReflectionInfo();
        call.on("data", (response) => {
          resolve(response);
          call.end();
        });
        call.on("error", reject);
        call.write(request);
      });
    const services = (await ask({ list_services: "" })) as { list_services_response: { service: { name: string }[] } };
    const names = services.list_services_response.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["berth.v1.LeaseService", "berth.v1.PoolService", "berth.v1.AllowlistService", "berth.v1.ServerService", "berth.v1.RepositoryService", "berth.v1.SidecarService", "grpc.health.v1.Health"]));
    const files = (await ask({ file_containing_symbol: "berth.v1.LeaseService" })) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
    expect(files.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);
    client.close();
  });

  it("sends a connected sidecar its server's assignments and turns its Loaded report into Ready", async () => {
    const api = berthd.client();
    const [accepted] = await collect(api.lease.create({ spec: { name: "remote", models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" } } }));
    const serverId = accepted!.lease!.placement!.serverId;
    const lease = await eventually("the lease assigned", async () => {
      const l = await api.lease.get({ name: "remote" });
      return l.phase === "LEASE_PHASE_LOADING" ? l : undefined;
    });
    const { client, stream } = openSidecarStream(berthd.grpc);
    const assignments: Assignment[] = [];
    stream.on("data", (a: Assignment) => assignments.push(a));
    stream.write({ hello: { server_id: serverId, replica_id: `${serverId}-0`, server_endpoint: "127.0.0.1:8000", loaded_models: [], generation: 0 } });
    const first = await eventually("an assignment", () => assignments.find((a) => a.leases.length > 0));
    expect(first.leases).toEqual([{ lease_id: lease.id, lease_name: "remote", models: [{ name: "simple", version: 0, repository: "demo" }] }]);
    stream.write({ lease: { lease_id: lease.id, generation: first.generation, loaded: { measured_memory_bytes: 300 * 1024 * 1024, load_time_ms: 42, models: [] } } });
    const ready = await eventually("Ready", async () => {
      const l = await api.lease.get({ name: "remote" });
      return l.phase === "LEASE_PHASE_READY" ? l : undefined;
    });
    expect(ready.placement?.endpoints).toContain("127.0.0.1:8000");
    const server = await api.server.get({ id: serverId });
    expect(server.memoryMeasuredBytes).toBe(300 * 1024 * 1024);
    // Activity keeps the lease alive: it moves lastActivityAt.
    await new Promise((r) => setTimeout(r, 20));
    stream.write({ activity: { models: [{ model: "simple", inference_count_delta: 3, execution_count_delta: 3, last_inference_ms: Date.now() }] } });
    await eventually("activity recorded", async () => {
      const l = await api.lease.get({ name: "remote" });
      return Number(l.lastActivityAt?.seconds) * 1000 + Number(l.lastActivityAt?.nanos) / 1e6 > Number(ready.lastActivityAt?.seconds) * 1000 + Number(ready.lastActivityAt?.nanos) / 1e6 ? l : undefined;
    });
    // Releasing the lease sends the sidecar a desired state without it.
    await api.lease.release({ name: "remote" });
    await eventually("an empty assignment", () => assignments.find((a) => a.leases.length === 0 && a.generation > first.generation));
    stream.end();
    client.close();
  });
});

describe("autoscaling from the sidecars' activity", () => {
  it("scales a bespoke lease on rps out to more replicas", async () => {
    const berthd = await startBerthd({ config: { backend: { kind: "sim", sim: { startup: "20ms", load: "1h" } }, autoscaler: { syncPeriod: "200ms" } } });
    const api = berthd.client();
    const { client, stream } = openSidecarStream(berthd.grpc);
    try {
      const autoscaling = { metric: "rps", target: 10, minReplicas: 1, maxReplicas: 3, policy: "hpa" };
      const [accepted] = await collect(api.lease.create({ spec: { name: "busy", models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" }, autoscaling } }));
      const serverId = accepted!.lease!.placement!.serverId;
      const assignments: Assignment[] = [];
      stream.on("data", (a: Assignment) => assignments.push(a));
      await eventually("Loading", async () => ((await api.lease.get({ name: "busy" })).phase === "LEASE_PHASE_LOADING" ? true : undefined));
      stream.write({ hello: { server_id: serverId, replica_id: `${serverId}-0`, server_endpoint: "127.0.0.1:8000", loaded_models: [], generation: 0 } });
      const assignment = await eventually("an assignment", () => assignments.find((a) => a.leases.length > 0));
      stream.write({ lease: { lease_id: assignment.leases[0]!.lease_id, generation: assignment.generation, loaded: { measured_memory_bytes: 1000, load_time_ms: 1, models: [] } } });
      await eventually("Ready", async () => ((await api.lease.get({ name: "busy" })).phase === "LEASE_PHASE_READY" ? true : undefined));
      expect((await api.server.get({ id: serverId })).replicas).toBe(1);
      // 100 requests a period, about 400 per second against a target of 10 per replica.
      const activity = (delta: number) => stream.write({ activity: { models: [{ model: "simple", inference_count_delta: delta, execution_count_delta: delta, last_inference_ms: Date.now() }] } });
      activity(0);
      const scaled = await eventually(
        "more replicas",
        async () => {
          await new Promise((r) => setTimeout(r, 250));
          activity(100);
          const server = await api.server.get({ id: serverId });
          return server.replicas > 1 ? server : undefined;
        },
        15_000,
      );
      expect(scaled.replicas).toBeLessThanOrEqual(3);
      const explained = await api.lease.explain({ name: "busy" });
      expect(explained.decisions.some((d) => d.kind === "scaling")).toBe(true);
    } finally {
      stream.end();
      client.close();
      await berthd.stop();
    }
  }, 30_000);
});
