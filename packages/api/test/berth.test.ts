import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import * as grpc from "@grpc/grpc-js";
import { LEASE_PHASES } from "@berth/core/lease/types";
import {
  BERTH_SERVICES, createBerthClient, fieldViolationsOf, grpcStatusName, invalidArgumentError, isServiceError,
  leasePhaseName, leasePhaseWord, loadBerthProto, msToTimestamp, timestampToMs,
  type LeaseServiceHandlers, type PoolServiceHandlers, type BerthClient,
} from "../src/berth.js";

const closedPort = async (): Promise<number> => {
  const probe = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    probe.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  probe.forceShutdown();
  return port;
};

describe("loadBerthProto", () => {
  it("defines every berth.v1 service with its rpcs", () => {
    const berth = loadBerthProto();
    expect(Object.keys(berth)).toEqual([...BERTH_SERVICES]);
    expect(Object.keys(berth.LeaseService.service)).toEqual(["Create", "Get", "List", "Renew", "Release", "Watch", "Explain"]);
    expect(berth.LeaseService.service.Create.responseStream).toBe(true);
    expect(Object.keys(berth.PoolService.service)).toEqual(["Create", "Get", "List", "Delete", "Status"]);
    expect(Object.keys(berth.AllowlistService.service)).toEqual(["Append", "List", "Remove"]);
    expect(Object.keys(berth.ServerService.service)).toEqual(["List", "Get"]);
    expect(Object.keys(berth.RepositoryService.service)).toEqual(["ListModels"]);
    expect(berth.LeaseService.name).toBe("berth.v1.LeaseService");
  });
});

describe("createBerthClient against a real server", () => {
  const server = new grpc.Server();
  const seen: { authorization: unknown[]; cancelled: boolean } = { authorization: [], cancelled: false };
  let client: BerthClient;

  const lease: LeaseServiceHandlers = {
    Create: (call) => {
      const name = call.request.spec?.name ?? "";
      call.on("cancelled", () => { seen.cancelled = true; });
      call.write({ lease: { name, phase: "LEASE_PHASE_PENDING" }, message: "accepted" });
      if (!call.request.wait) { call.end(); return; }
      call.write({ lease: { name, phase: "LEASE_PHASE_READY" }, message: "ready", done: true });
      if (name !== "endless") call.end();
    },
    Get: (call, callback) => {
      seen.authorization = call.metadata.get("authorization");
      if (call.request.name === "missing") callback({ code: grpc.status.NOT_FOUND, details: "lease \"missing\" not found" });
      else callback(null, { name: call.request.name, phase: "LEASE_PHASE_READY", createdAt: msToTimestamp(1_700_000_000_123), generation: 3 });
    },
    List: (call, callback) => callback(null, { leases: [{ name: "a", spec: { models: [{ name: "simple", version: 2 }], labels: { team: "x" } } }] }),
    Renew: (call, callback) => callback(null, { name: call.request.name }),
    Release: (call, callback) =>
      callback(invalidArgumentError("the lease spec has 2 problems", [
        { field: "resources.gpuMemory", description: "\"4Gb\" is not a quantity" },
        { field: "models[1]", description: "listed twice" },
      ])),
    Watch: (call) => {
      call.write({ type: "TYPE_ADDED", lease: { name: "a" } });
      call.write({ type: "TYPE_DELETED", lease: { name: "a" } });
      call.end();
    },
    Explain: (call, callback) => callback(null, { decisions: [{ kind: "placement", verdicts: [{ candidate: "s-1", code: "Fits", score: 0.5 }] }] }),
  };
  const pool: PoolServiceHandlers = {
    Create: (call, callback) => callback(null, { spec: call.request.spec, instances: 1 }),
    Get: (call, callback) => callback({ code: grpc.status.UNIMPLEMENTED }),
    List: (call, callback) => callback(null, { pools: [] }),
    Delete: (call, callback) => callback({ code: grpc.status.UNIMPLEMENTED }),
    Status: (call, callback) => callback(null, { instances: [{ serverId: "s-1", quotaBytes: 4 * 2 ** 30 }] }),
  };

  beforeAll(async () => {
    const berth = loadBerthProto();
    server.addService(berth.LeaseService.service, lease);
    server.addService(berth.PoolService.service, pool);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    client = createBerthClient(`127.0.0.1:${port}`, { token: "s3cret", callTimeoutMs: 5000 });
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it("decodes unary replies with camelCase fields, numbers for int64, defaults and the bearer token", async () => {
    const got = await client.lease.get({ name: "web" });
    expect(got.name).toBe("web");
    expect(got.phase).toBe("LEASE_PHASE_READY");
    expect(timestampToMs(got.createdAt)).toBe(1_700_000_000_123);
    expect(got.generation).toBe(3);
    expect(got.placement).toBeNull();
    expect(got.conditions).toEqual([]);
    expect(seen.authorization).toEqual(["Bearer s3cret"]);
    const list = await client.lease.list();
    expect(list.leases[0].spec?.models[0]).toEqual({ name: "simple", version: 2, repository: "" });
    expect(list.leases[0].spec?.labels).toEqual({ team: "x" });
    const status = await client.pool.status({ name: "p" });
    expect(status.instances[0]).toMatchObject({ serverId: "s-1", quotaBytes: 4 * 2 ** 30, committedBytes: 0 });
  });

  it("streams Create progress as an async iterable, and one message without wait", async () => {
    const waited = [];
    for await (const progress of client.lease.create({ spec: { name: "web" }, wait: true })) waited.push(progress.lease?.phase);
    expect(waited).toEqual(["LEASE_PHASE_PENDING", "LEASE_PHASE_READY"]);
    const once = [];
    for await (const progress of client.lease.create({ spec: { name: "web" } })) once.push(progress.message);
    expect(once).toEqual(["accepted"]);
    const events = [];
    for await (const event of client.lease.watch({ name: "a" })) events.push(event.type);
    expect(events).toEqual(["TYPE_ADDED", "TYPE_DELETED"]);
  });

  it("cancels the call when the consumer leaves a stream early", async () => {
    for await (const progress of client.lease.create({ spec: { name: "endless" }, wait: true })) {
      if (progress.done) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.cancelled).toBe(true);
  });

  it("carries every field violation of an INVALID_ARGUMENT in the BadRequest detail and the message", async () => {
    const error = await client.lease.release({ name: "web" }).catch((e: unknown) => e);
    expect(isServiceError(error)).toBe(true);
    if (!isServiceError(error)) return;
    expect(grpcStatusName(error.code)).toBe("INVALID_ARGUMENT");
    expect(fieldViolationsOf(error)).toEqual([
      { field: "resources.gpuMemory", description: "\"4Gb\" is not a quantity" },
      { field: "models[1]", description: "listed twice" },
    ]);
    expect(error.details).toContain("models[1]: listed twice");
  });

  it("rejects with the server's status code, and none of the BadRequest detail when there is none", async () => {
    const error = await client.lease.get({ name: "missing" }).catch((e: unknown) => e);
    expect(isServiceError(error) && grpcStatusName(error.code)).toBe("NOT_FOUND");
    expect(isServiceError(error) && fieldViolationsOf(error)).toEqual([]);
    const unimplemented = await client.allowlist.list().catch((e: unknown) => e);
    expect(isServiceError(unimplemented) && grpcStatusName(unimplemented.code)).toBe("UNIMPLEMENTED");
  });
});

describe("unreachable berthd", () => {
  it("fails fast with UNAVAILABLE", async () => {
    const client = createBerthClient(`127.0.0.1:${await closedPort()}`);
    const error = await client.lease.list().catch((e: unknown) => e);
    client.close();
    expect(isServiceError(error) && grpcStatusName(error.code)).toBe("UNAVAILABLE");
  });
});

describe("conversions", () => {
  it("names every gRPC status code", () => {
    expect(grpcStatusName(0)).toBe("OK");
    expect(grpcStatusName(3)).toBe("INVALID_ARGUMENT");
    expect(grpcStatusName(14)).toBe("UNAVAILABLE");
    expect(grpcStatusName(99)).toBe("UNKNOWN_99");
  });

  it("maps lease phases to the proto's enum names and back", () => {
    for (const phase of LEASE_PHASES) expect(leasePhaseWord(leasePhaseName(phase))).toBe(phase);
    expect(leasePhaseName("Ready")).toBe("LEASE_PHASE_READY");
    expect(leasePhaseWord("LEASE_PHASE_UNSPECIFIED")).toBeUndefined();
    expect(leasePhaseWord("READY")).toBeUndefined();
  });

  it("round-trips whole milliseconds through Timestamp", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (ms) => {
      const ts = msToTimestamp(ms);
      return timestampToMs(ts) === ms && ts.nanos >= 0 && ts.nanos < 1e9;
    }));
    expect(timestampToMs(null)).toBeUndefined();
  });
});
