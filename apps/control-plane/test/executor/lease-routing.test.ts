// Lease routing through a backend's routing capability: the plan read off the snapshot (which
// leases get a route, which replicas are checked) and the service converging a backend to it,
// with replicas that are real HTTP servers answering KServe v2 model readiness.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Effect, Exit, Queue, Scope } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import type { LeaseRecord, ServerRecord, Snapshot } from "@berth/core";
import type { LeaseRoutingShape } from "@berth/backends/backend";
import type { ObservedServer } from "@berth/backends/observation";
import { emptySnapshot } from "@berth/core/decide/decide";
import type { Commit, EngineShape } from "../../src/engine/engine.js";
import { memberChecks, memberKey, modelReadyPath, wantedRoutes } from "../../src/executor/lease-routing-plan.js";
import { makeLeaseRouting } from "../../src/executor/lease-routing.js";

// Only the fields lease routing reads; the rest of a record does not matter to it.
const lease = (id: string, name: string, phase: LeaseRecord["phase"], serverId?: string, models = ["simple"]): LeaseRecord =>
  ({ id, phase, spec: { name, models: models.map((m) => ({ name: m, repository: "demo" })) }, ...(serverId !== undefined ? { placement: { serverId, assigned: true } } : {}) }) as unknown as LeaseRecord;
const server = (id: string, leases: string[]): ServerRecord => ({ id, leases, replicas: [], kind: "bespoke" }) as unknown as ServerRecord;
const snapshotOf = (leases: LeaseRecord[], servers: ServerRecord[]): Snapshot => ({
  ...emptySnapshot(),
  leases: Object.fromEntries(leases.map((l) => [l.id, l])),
  servers: Object.fromEntries(servers.map((s) => [s.id, s])),
});
const observed = (serverId: string, replicas: { http: string; state?: "Ready" | "Starting"; restarts?: number }[], desired = replicas.length): ObservedServer => ({
  serverId,
  image: "img",
  labels: {},
  desiredReplicas: desired,
  replicas: replicas.map((r, index) => ({
    replicaId: `${serverId}-${index}`,
    index,
    state: r.state ?? "Ready",
    placement: { node: "n", gpus: [] },
    endpoints: { http: r.http, grpc: "127.0.0.1:1" },
    restarts: r.restarts ?? 0,
  })),
});

describe("the lease routing plan", () => {
  it("routes leases from placement to Ready, tied to their servers; not Pending, Expiring, Released or Failed ones", () => {
    const snapshot = snapshotOf(
      [
        lease("1", "loading", "Loading", "s1"),
        lease("2", "ready", "Ready", "s2"),
        lease("3", "pending", "Pending"),
        lease("4", "expiring", "Expiring", "s1"),
        lease("5", "released", "Released", "s1"),
        lease("6", "failed", "Failed", "s2"),
        lease("7", "orphan", "Ready", "gone"),
      ],
      [server("s1", ["1", "4", "5"]), server("s2", ["2", "6"])],
    );
    expect(wantedRoutes(snapshot)).toEqual(new Map([["loading", ["s1"]], ["ready", ["s2"]]]));
  });

  it("checks each Ready replica with an endpoint, below the desired count, of a routed lease's server", () => {
    const snapshot = snapshotOf([lease("1", "a", "Ready", "s1", ["x", "y"]), lease("2", "b", "Expiring", "s2")], [server("s1", ["1"]), server("s2", ["2"])]);
    const checks = memberChecks(snapshot, [
      observed("s1", [{ http: "h:1" }, { http: "h:2", state: "Starting" }, { http: "h:3", restarts: 2 }, { http: "h:4" }], 3),
      observed("s2", [{ http: "h:5" }]),
    ]);
    expect(checks.map((c) => [c.leaseName, c.replicaId, c.incarnation, c.http])).toEqual([
      ["a", "s1-0", 0, "h:1"],
      ["a", "s1-2", 2, "h:3"],
    ]);
    expect(checks[0]!.models).toEqual([
      { name: "x", version: 0 },
      { name: "y", version: 0 },
    ]);
    expect(memberKey("a", "s1-2", 2)).not.toBe(memberKey("a", "s1-2", 3));
    expect(modelReadyPath({ name: "a b", version: 0 })).toBe("/v2/models/a%20b/ready");
    expect(modelReadyPath({ name: "m", version: 3 })).toBe("/v2/models/m/versions/3/ready");
  });
});

/** A replica: answers ready for the models in `loaded`. */
async function replica(loaded: Set<string>): Promise<{ http: string; server: Server }> {
  const server = createServer((req, res) => {
    const model = /^\/v2\/models\/([^/]+)\/ready$/.exec(req.url ?? "")?.[1];
    res.statusCode = model !== undefined && loaded.has(decodeURIComponent(model)) ? 200 : 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { http: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A backend's routing that records what it was told, as the cluster would hold it. */
function recordingRouting() {
  const routes = new Map<string, readonly string[]>([["left-over", ["old"]]]);
  const members = new Set<string>();
  const shape: LeaseRoutingShape = {
    autoscaling: "builtin",
    ensureLeaseRoute: (name, servers) => Effect.sync(() => void routes.set(name, servers)),
    deleteLeaseRoute: (name) => Effect.sync(() => void routes.delete(name)),
    leaseRoutes: () => Effect.sync(() => [...routes.keys()]),
    setLeaseMember: (serverId, index, name, member) => Effect.sync(() => void (member ? members.add(`${name}/${serverId}-${index}`) : members.delete(`${name}/${serverId}-${index}`))),
  };
  return { shape, routes, members };
}

describe("the lease routing service", () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 100; i++) {
      if (ok()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it("routes a placed lease, puts in only the replicas whose models are ready, follows loads, and removes routes of leases that left", async () => {
    const loaded0 = new Set(["simple"]);
    const loaded1 = new Set<string>();
    const r0 = await replica(loaded0);
    const r1 = await replica(loaded1);
    servers.push(r0.server, r1.server);
    let snapshot = snapshotOf([lease("1", "web", "Ready", "s1")], [server("s1", ["1"])]);
    const commits = await Effect.runPromise(Queue.unbounded<Commit>());
    const engine = { snapshot: () => snapshot, subscribe: Effect.succeed(commits) } as unknown as EngineShape;
    const routing = recordingRouting();
    const scope = await Effect.runPromise(Scope.make());
    try {
      const service = await Effect.runPromise(
        makeLeaseRouting(engine, routing.shape, Effect.sync(() => [observed("s1", [{ http: r0.http }, { http: r1.http }])]), { probeIntervalMs: 50, probeTimeoutMs: 500 }).pipe(Scope.extend(scope)),
      );
      // A route left by an earlier berthd for a lease that is gone is removed.
      await until("web routed, the left-over removed", () => routing.routes.has("web") && !routing.routes.has("left-over"));
      expect(routing.routes.get("web")).toEqual(["s1"]);
      await until("replica 0 in", () => routing.members.has("web/s1-0"));
      expect([...routing.members]).toEqual(["web/s1-0"]);
      expect(service.members()).toEqual(new Map([["web", ["s1-0"]]]));

      // Replica 1's sidecar loads the model: it joins. Replica 0 unloads it: it leaves.
      loaded1.add("simple");
      await until("replica 1 in", () => routing.members.has("web/s1-1"));
      loaded0.clear();
      await until("replica 0 out", () => !routing.members.has("web/s1-0"));
      expect([...routing.members]).toEqual(["web/s1-1"]);

      // Released: its route and its members go.
      snapshot = snapshotOf([lease("1", "web", "Released", "s1")], [server("s1", [])]);
      await Effect.runPromise(Queue.offer(commits, {} as Commit));
      await until("web's route gone", () => !routing.routes.has("web") && routing.members.size === 0);
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void));
    }
  });
});
