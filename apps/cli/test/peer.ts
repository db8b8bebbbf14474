// A berth.v1 server for the CLI's tests: the real gRPC service definitions from @berth/api,
// served over a real socket, with leases, pools and the allowlist kept in memory. It plays
// berthd's part of the contract (phases over the Create stream, status codes, the BadRequest
// detail); the end-to-end suite runs the same CLI against the real berthd.
import * as grpc from "@grpc/grpc-js";
import {
  loadBerthProto, msToTimestamp, timestampToMs,
  type AllowlistServiceHandlers, type Input, type Lease, type LeasePhaseName, type LeaseServiceHandlers, type ModelInfo,
  type Pool, type PoolServiceHandlers, type RepositoryServiceHandlers, type Server, type ServerServiceHandlers,
} from "@berth/api/berth";

type LeaseIn = Input<Lease>;

export interface PeerCall {
  readonly method: string;
  readonly request: unknown;
  readonly authorization: readonly unknown[];
  readonly idempotencyKey: readonly unknown[];
}

export interface Peer {
  readonly address: string;
  readonly leases: Map<string, LeaseIn>;
  readonly pools: Map<string, Input<Pool>>;
  readonly allowlist: Set<string>;
  readonly calls: PeerCall[];
  /** The next call of `method` ("LeaseService.Get") fails with this status. */
  failNext(method: string, error: Partial<grpc.StatusObject> & { code: grpc.status }): void;
  close(): void;
}

export const PEER_SERVERS: readonly Input<Server>[] = [
  { id: "s-1", state: "Ready", group: "onnxruntime", node: "node-a", image: "berth/model-server", replicas: 1, readyReplicas: 1, memoryCommittedBytes: 2 ** 31, leases: ["web"], endpoints: ["127.0.0.1:8000"] },
];
export const PEER_MODELS: readonly Input<ModelInfo>[] = [
  { repository: "demo", name: "simple", versions: [1], platform: "onnxruntime_onnx", group: "onnxruntime", sizeBytes: 1024 },
  { repository: "demo", name: "densenet_onnx", versions: [1, 2], platform: "onnxruntime_onnx", group: "onnxruntime", sizeBytes: 32 * 2 ** 20 },
];

/** Phases a lease passes through on this peer; a model named "broken" fails at Loading, "expires" is Released there, "slow" never gets past it. */
const STEPS: readonly (readonly [LeasePhaseName, string])[] = [
  ["LEASE_PHASE_PLACING", "placing"],
  ["LEASE_PHASE_LOADING", "loading on s-1"],
  ["LEASE_PHASE_READY", "ready on s-1"],
];

const notFound = (what: string): Partial<grpc.StatusObject> => ({ code: grpc.status.NOT_FOUND, details: `${what} not found` });

export const startPeer = async (credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<Peer> => {
  const berth = loadBerthProto();
  const server = new grpc.Server();
  const leases = new Map<string, LeaseIn>();
  const pools = new Map<string, Input<Pool>>();
  const allowlist = new Set<string>();
  const calls: PeerCall[] = [];
  const failures = new Map<string, Partial<grpc.StatusObject>>();
  const timers = new Set<ReturnType<typeof setTimeout>>();

  /** Records the call; returns the failure to answer with, if the test asked for one. */
  const enter = (method: string, call: { request: unknown; metadata: grpc.Metadata }): Partial<grpc.StatusObject> | undefined => {
    calls.push({ method, request: call.request, authorization: call.metadata.get("authorization"), idempotencyKey: call.metadata.get("idempotency-key") });
    const failure = failures.get(method);
    failures.delete(method);
    return failure;
  };
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => { timers.delete(timer); fn(); }, ms);
    timers.add(timer);
  };

  const lease: LeaseServiceHandlers = {
    Create: (call) => {
      const failure = enter("LeaseService.Create", call);
      if (failure !== undefined) { call.emit("error", failure); return; }
      const spec = call.request.spec;
      const name = spec?.name ?? "";
      if (leases.has(name)) { call.emit("error", { code: grpc.status.ALREADY_EXISTS, details: `lease "${name}" already exists` }); return; }
      const now = Date.now();
      let current: LeaseIn = {
        id: `l-${leases.size + 1}`, name, tenant: "default", spec, phase: "LEASE_PHASE_PENDING",
        createdAt: msToTimestamp(now), expiresAt: msToTimestamp(now + 30 * 60_000), generation: 1,
      };
      leases.set(name, current);
      call.write({ lease: current, message: "accepted" });
      if (!call.request.wait) { call.end(); return; }
      const models = (spec?.models ?? []).map((m) => m.name);
      const waitMs = call.request.waitTimeout === null ? 60_000 : timestampToMs(call.request.waitTimeout) ?? 60_000;
      let cancelled = false;
      call.on("cancelled", () => { cancelled = true; });
      const step = (index: number): void => {
        if (cancelled) return;
        const [phase, message] = STEPS[index];
        const broken = phase === "LEASE_PHASE_READY" && models.includes("broken");
        const gone = phase === "LEASE_PHASE_READY" && models.includes("expires");
        current = broken
          ? { ...current, phase: "LEASE_PHASE_FAILED", failureReason: "ModelLoadFailed", failureMessage: "broken: config.pbtxt is missing" }
          : gone
            ? { ...current, phase: "LEASE_PHASE_RELEASED", placement: null, conditions: [{ type: "Phase", status: true, reason: "Released:Expired", lastTransition: msToTimestamp(Date.now()) }] }
            : { ...current, phase, placement: index >= 1 ? { serverId: "s-1", node: "node-a", replicas: 1, readyReplicas: phase === "LEASE_PHASE_READY" ? 1 : 0, endpoints: ["127.0.0.1:8000"] } : null };
        leases.set(name, current);
        const last = index === STEPS.length - 1 || broken || gone;
        if (phase === "LEASE_PHASE_LOADING" && models.includes("stuck")) { call.write({ lease: current, message }); return; }
        if (phase === "LEASE_PHASE_LOADING" && models.includes("slow")) {
          call.write({ lease: current, message });
          later(waitMs, () => { if (!cancelled) { call.write({ lease: current, message: "still loading", done: true }); call.end(); } });
          return;
        }
        call.write({ lease: current, message: broken ? "failed: broken: config.pbtxt is missing" : message, done: last });
        if (last) call.end();
        else later(5, () => step(index + 1));
      };
      later(5, () => step(0));
    },
    Get: (call, callback) => {
      const failure = enter("LeaseService.Get", call);
      if (failure !== undefined) return callback(failure);
      const found = leases.get(call.request.name) ?? [...leases.values()].find((l) => l.id === call.request.name);
      return found === undefined ? callback(notFound(`lease "${call.request.name}"`)) : callback(null, found);
    },
    List: (call, callback) => {
      const failure = enter("LeaseService.List", call);
      if (failure !== undefined) return callback(failure);
      const { phases, labelSelector, pageSize, pageToken } = call.request;
      const wanted = labelSelector === "" ? [] : labelSelector.split(",").map((pair) => pair.split("="));
      const matches = [...leases.values()].filter((l) =>
        (phases.length === 0 || phases.includes(l.phase as LeasePhaseName)) &&
        wanted.every(([k, v]) => (l.spec?.labels as Record<string, string> | undefined)?.[k] === v));
      // Paging as berthd's contract has it (the token is an offset here: nothing changes between pages in these tests).
      const start = pageToken === "" ? 0 : Number(pageToken);
      const end = pageSize > 0 ? start + pageSize : matches.length;
      return callback(null, { leases: matches.slice(start, end), nextPageToken: end < matches.length ? String(end) : "" });
    },
    Renew: (call, callback) => {
      const failure = enter("LeaseService.Renew", call);
      if (failure !== undefined) return callback(failure);
      const found = leases.get(call.request.name);
      if (found === undefined) return callback(notFound(`lease "${call.request.name}"`));
      const extendMs = call.request.extendBy === "1h" ? 3_600_000 : 5 * 60_000;
      const renewed: LeaseIn = { ...found, expiresAt: msToTimestamp(Date.now() + extendMs), generation: (found.generation ?? 0) + 1 };
      leases.set(found.name ?? "", renewed);
      return callback(null, renewed);
    },
    Release: (call, callback) => {
      const failure = enter("LeaseService.Release", call);
      if (failure !== undefined) return callback(failure);
      const found = leases.get(call.request.name);
      if (found === undefined) return callback(notFound(`lease "${call.request.name}"`));
      leases.delete(call.request.name);
      return callback(null, { ...found, phase: "LEASE_PHASE_RELEASED" });
    },
    Watch: (call) => {
      const failure = enter("LeaseService.Watch", call);
      if (failure !== undefined) { call.emit("error", failure); return; }
      for (const l of leases.values()) if (call.request.name === "" || l.name === call.request.name) call.write({ type: "TYPE_ADDED", lease: l });
      call.end();
    },
    Explain: (call, callback) => {
      const failure = enter("LeaseService.Explain", call);
      if (failure !== undefined) return callback(failure);
      const found = leases.get(call.request.name);
      if (found === undefined) return callback(notFound(`lease "${call.request.name}"`));
      return callback(null, {
        lease: found,
        decisions: [{
          at: found.createdAt, kind: "placement", policy: "fgd", outcome: "placed on s-1",
          verdicts: [
            { candidate: "s-1", code: "Fits", score: 0.8 },
            { candidate: "s-2", code: "NotNow", reasons: [{ plugin: "GpuMemory", reason: "InsufficientGpuMemory", need: 4, free: 1 }] },
          ],
        }, {
          at: found.createdAt, kind: "scaling", policy: "hpa", outcome: "Scaled (s-1)",
          scaling: { from: 1, to: 3, reason: { rule: "ScaleUp", usageRatio: "2.5", recommended: "3", desired: "3" } },
        }],
      });
    },
  };

  const pool: PoolServiceHandlers = {
    Create: (call, callback) => {
      const failure = enter("PoolService.Create", call);
      if (failure !== undefined) return callback(failure);
      const name = call.request.spec?.name ?? "";
      if (pools.has(name)) return callback({ code: grpc.status.ALREADY_EXISTS, details: `pool "${name}" already exists` });
      const created = { spec: call.request.spec, instances: call.request.spec?.minInstances ?? 0 };
      pools.set(name, created);
      return callback(null, created);
    },
    Get: (call, callback) => {
      const found = pools.get(call.request.name);
      return found === undefined ? callback(notFound(`pool "${call.request.name}"`)) : callback(null, found);
    },
    List: (call, callback) => {
      const failure = enter("PoolService.List", call);
      return failure !== undefined ? callback(failure) : callback(null, { pools: [...pools.values()] });
    },
    Delete: (call, callback) => {
      const found = pools.get(call.request.name);
      if (found === undefined) return callback(notFound(`pool "${call.request.name}"`));
      pools.delete(call.request.name);
      return callback(null, found);
    },
    Status: (call, callback) => {
      const found = pools.get(call.request.name);
      if (found === undefined) return callback(notFound(`pool "${call.request.name}"`));
      return callback(null, { pool: found, instances: [{ serverId: "s-9", quotaBytes: 4 * 2 ** 30, committedBytes: 2 ** 30, leases: ["shared"] }] });
    },
  };

  const allow: AllowlistServiceHandlers = {
    Append: (call, callback) => {
      for (const image of call.request.images) allowlist.add(image);
      callback(null, { images: [...allowlist] });
    },
    List: (call, callback) => callback(null, { images: [...allowlist] }),
    Remove: (call, callback) => {
      const missing = call.request.images.filter((i) => !allowlist.has(i));
      if (missing.length > 0) return callback(notFound(`image ${missing.join(", ")} on the allowlist`));
      for (const image of call.request.images) allowlist.delete(image);
      return callback(null, { images: [...allowlist] });
    },
  };

  const servers: ServerServiceHandlers = {
    List: (call, callback) => {
      const failure = enter("ServerService.List", call);
      return failure !== undefined ? callback(failure) : callback(null, { servers: [...PEER_SERVERS] });
    },
    Get: (call, callback) => {
      const found = PEER_SERVERS.find((s) => s.id === call.request.id);
      return found === undefined ? callback(notFound(`server "${call.request.id}"`)) : callback(null, found);
    },
  };

  const repository: RepositoryServiceHandlers = {
    ListModels: (call, callback) =>
      callback(null, { models: PEER_MODELS.filter((m) => call.request.repository === "" || m.repository === call.request.repository) }),
  };

  server.addService(berth.LeaseService.service, lease);
  server.addService(berth.PoolService.service, pool);
  server.addService(berth.AllowlistService.service, allow);
  server.addService(berth.ServerService.service, servers);
  server.addService(berth.RepositoryService.service, repository);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, p) => (error ? reject(error) : resolve(p))));

  return {
    address: `127.0.0.1:${port}`,
    leases,
    pools,
    allowlist,
    calls,
    failNext: (method, error) => { failures.set(method, error); },
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      server.forceShutdown();
    },
  };
};

/** A port nothing listens on (bound, then released). */
export const closedPort = async (): Promise<number> => {
  const probe = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    probe.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  probe.forceShutdown();
  return port;
};
