import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BESPOKE_NEEDS_OWN_SERVER,
  colocation,
  EXCLUDED_BY_RESIDENT,
  GROUP_MISMATCH,
  gpuMemoryRoom,
  INSUFFICIENT_GPU_MEMORY,
  mostAllocated,
  NOT_WITH_PRESENT,
  OTHER_POOL,
  poolQuota,
  QUOTA_EXCEEDED,
  sameGroup,
  samePool,
  SERVER_DOWN,
  SERVER_TOO_SMALL,
  serverBindingPolicy,
  serverState,
  warmModels,
  WITH_ELSEWHERE,
  type ServerBindingRequest,
  type ServerCandidate,
} from "../../../src/placement/server/index.js";
import { GiB } from "../../../src/units.js";

const request = (over: Partial<ServerBindingRequest> = {}): ServerBindingRequest => ({
  leaseId: "l1",
  leaseName: "a",
  group: "onnx",
  where: { kind: "pool", pool: "p", quota: 4 * GiB },
  memory: 2 * GiB,
  models: ["r/m"],
  colocation: { with: [], notWith: [] },
  withServers: [],
  ...over,
});

const server = (id: string, over: Partial<ServerCandidate> = {}): ServerCandidate => ({
  id,
  kind: "pool",
  pool: "p",
  group: "onnx",
  state: "Ready",
  capacity: 8 * GiB,
  used: 0,
  quotaPerInstance: 4 * GiB,
  leaseNames: [],
  excludes: [],
  models: [],
  ...over,
});

describe("server binding filters", () => {
  it("keeps groups apart", () => {
    expect(sameGroup(request(), server("s")).code).toBe("Fits");
    expect(sameGroup(request(), server("s", { group: "pytorch" }))).toMatchObject({ code: "Never", reason: { reason: GROUP_MISMATCH } });
  });

  it("pool leases only on their pool's instances; bespoke leases never join", () => {
    expect(samePool(request(), server("s")).code).toBe("Fits");
    expect(samePool(request(), server("s", { pool: "q" })).reason?.reason).toBe(OTHER_POOL);
    expect(samePool(request({ where: { kind: "bespoke" } }), server("s", { kind: "bespoke" })).reason?.reason).toBe(BESPOKE_NEEDS_OWN_SERVER);
  });

  it("room in GPU memory: never when too small, not now when full", () => {
    expect(gpuMemoryRoom(request({ memory: 9 * GiB }), server("s")).reason).toMatchObject({ reason: SERVER_TOO_SMALL, need: 9 * GiB, free: 8 * GiB });
    expect(gpuMemoryRoom(request(), server("s", { used: 7 * GiB }))).toMatchObject({ code: "NotNow", reason: { reason: INSUFFICIENT_GPU_MEMORY, free: GiB } });
    expect(gpuMemoryRoom(request(), server("s", { used: 6 * GiB })).code).toBe("Fits");
  });

  it("quota: the lease's own and the pool's per instance", () => {
    expect(poolQuota(request({ memory: 5 * GiB }), server("s")).reason?.reason).toBe(QUOTA_EXCEEDED);
    expect(poolQuota(request({ memory: 3 * GiB, where: { kind: "pool", pool: "p", quota: 2 * GiB } }), server("s")).code).toBe("Never");
    expect(poolQuota(request({ memory: 4 * GiB }), server("s")).code).toBe("Fits");
  });

  it("server state and co-location", () => {
    expect(serverState(request(), server("s", { state: "Down" })).reason?.reason).toBe(SERVER_DOWN);
    expect(serverState(request(), server("s", { state: "Starting" })).code).toBe("Fits");
    expect(colocation(request({ colocation: { with: [], notWith: ["b"] } }), server("s", { leaseNames: ["b"] })).reason?.reason).toBe(NOT_WITH_PRESENT);
    expect(colocation(request(), server("s", { excludes: ["a"] })).reason?.reason).toBe(EXCLUDED_BY_RESIDENT);
    expect(colocation(request({ withServers: ["t"] }), server("s")).reason?.reason).toBe(WITH_ELSEWHERE);
    expect(colocation(request({ withServers: ["s"] }), server("s")).code).toBe("Fits");
  });

  it("scorers: packing and warm models, zero capacity guarded", () => {
    expect(mostAllocated(request(), server("s", { used: 2 * GiB }))).toBe(50);
    expect(mostAllocated(request(), server("s", { capacity: 0 }))).toBe(0);
    expect(warmModels(request({ models: ["r/m", "r/n"] }), server("s", { models: ["r/m"] }))).toBe(50);
  });
});

describe("binding policies", () => {
  it("most-allocated packs onto the fullest server that fits and explains every server", () => {
    const policy = serverBindingPolicy("most-allocated")!;
    const decision = policy.bind(request(), [server("s1", { used: 1 * GiB }), server("s2", { used: 5 * GiB }), server("s3", { used: 7 * GiB }), server("s4", { group: "pytorch" })], {
      explain: true,
    });
    expect(decision.chosen).toBe("s2");
    expect(decision.verdicts?.map((v) => [v.candidate, v.code])).toEqual([
      ["s1", "Fits"],
      ["s2", "Fits"],
      ["s3", "NotNow"],
      ["s4", "Never"],
    ]);
  });

  it("least-allocated spreads", () => {
    expect(serverBindingPolicy("least-allocated")!.bind(request(), [server("s1", { used: 1 * GiB }), server("s2", { used: 5 * GiB })]).chosen).toBe("s1");
    expect(serverBindingPolicy("nope")).toBeUndefined();
  });

  it("never chooses a server a filter rejects, and the choice does not depend on candidate order", () => {
    const candidate = fc.record({
      used: fc.integer({ min: 0, max: 8 }),
      capacity: fc.integer({ min: 0, max: 8 }),
      group: fc.constantFrom("onnx", "pytorch"),
      pool: fc.constantFrom("p", "q"),
      state: fc.constantFrom("Ready" as const, "Starting" as const, "Down" as const),
    });
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 8 }), fc.integer({ min: 0, max: 6 }), (specs, memory) => {
        const servers = specs.map((s, i) => server(`s${i}`, { ...s, used: s.used * GiB, capacity: s.capacity * GiB }));
        const policy = serverBindingPolicy("most-allocated")!;
        const r = request({ memory: memory * GiB });
        const a = policy.bind(r, servers, { explain: true });
        const b = policy.bind(r, [...servers].reverse());
        expect(b.chosen).toBe(a.chosen);
        if (a.chosen !== undefined) {
          const chosen = servers.find((s) => s.id === a.chosen)!;
          expect(chosen.group).toBe("onnx");
          expect(chosen.pool).toBe("p");
          expect(chosen.state).not.toBe("Down");
          expect(chosen.used + r.memory).toBeLessThanOrEqual(chosen.capacity);
        } else expect(a.verdicts?.every((v) => v.code !== "Fits")).toBe(true);
      }),
    );
  });
});
