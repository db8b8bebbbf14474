// `hpa` mode through lease routing: which leases the backend's autoscaler scales (their spec's
// mode, else the backend's default), and the service that applies the autoscaler and hands the
// count it asks for to the core, here the real decide behind a minimal engine: the core follows
// within the lease's bounds (ScaleServer), takes the server from berthd's autoscaler, and the
// count reached goes back to the scale target.
import { Effect, Exit, Queue, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { decide, defaultDecideConfig, emptySnapshot, type Event, type Intent, type LeaseSpec, type Snapshot } from "@berth/core";
import type { BackendAutoscalerShape, LeaseAutoscalerSpec, LeaseRoutingShape } from "@berth/backends/backend";
import type { Commit, EngineShape } from "../../src/engine/engine.js";
import { hpaLeases, scaledToEvent } from "../../src/executor/lease-routing-plan.js";
import { makeLeaseRouting } from "../../src/executor/lease-routing.js";

const GiB = 1024 ** 3;
const spec = (name: string, autoscaling?: Partial<NonNullable<LeaseSpec["autoscaling"]>>): LeaseSpec => ({
  name,
  tenant: "t",
  models: [{ name: "simple", repository: "demo" }],
  where: { kind: "bespoke" },
  resources: { gpuMemory: 1 * GiB, gpus: 1, gpuMilli: 0, cpu: 100, memory: GiB, gpuModels: [] },
  image: "",
  minDuration: 3_600_000,
  renewal: { enabled: false, activityWindow: 30_000 },
  ...(autoscaling !== undefined ? { autoscaling: { metric: "queue_time", target: 200, minReplicas: 1, maxReplicas: 3, policy: "hpa" as const, ...autoscaling } } : {}),
  colocation: { with: [], notWith: [] },
  labels: {},
});

/** A world with four one-GPU nodes' worth of room and the given leases Ready on their servers. */
const world = (specs: LeaseSpec[]): { snapshot: Snapshot; servers: Record<string, string> } => {
  let snapshot = emptySnapshot();
  const step = (event: Event): Intent[] => {
    const result = decide(snapshot, event, defaultDecideConfig);
    snapshot = result.snapshot;
    return [...result.intents];
  };
  step({ _tag: "NodeObserved", at: 0, node: { name: "n0", cpu: 8000, memory: 64 * GiB, gpus: [0, 1, 2, 3].map((index) => ({ index, model: "A10", memory: 24 * GiB })), state: "Ready" } });
  const servers: Record<string, string> = {};
  specs.forEach((s, i) => {
    const intents = step({ _tag: "LeaseRequested", at: 0, id: `l${i}`, spec: s });
    const serverId = intents.find((x): x is Extract<Intent, { _tag: "EnsureServer" }> => x._tag === "EnsureServer")!.serverId;
    servers[s.name] = serverId;
    step({ _tag: "ServerObserved", at: 0, serverId, state: "Up", readyReplicas: 1 });
    step({ _tag: "ModelsLoaded", at: 0, serverId, leaseId: `l${i}`, measuredMemory: GiB });
  });
  return { snapshot, servers };
};

describe("hpa mode: the plan", () => {
  it("picks autoscaled bespoke leases whose mode is hpa, by their spec or the backend's default", () => {
    const { snapshot, servers } = world([spec("plain"), spec("default", {}), spec("hpa", { mode: "hpa" }), spec("builtin", { mode: "builtin" })]);
    expect(hpaLeases(snapshot, "hpa").map((l) => l.spec.leaseName)).toEqual(["default", "hpa"]);
    expect(hpaLeases(snapshot, "builtin").map((l) => l.spec.leaseName)).toEqual(["hpa"]);
    const [lease] = hpaLeases(snapshot, "builtin");
    expect(lease).toEqual({
      spec: { leaseName: "hpa", serverId: servers.hpa, metric: "queue_time", target: 200, minReplicas: 1, maxReplicas: 3 },
      replicas: 1,
      serverReady: true,
      readyReplicas: 1,
      scaledByBackend: false,
    });
  });

  it("offers a count that differs, or the first one; never for a server the core does not have Ready", () => {
    const { snapshot } = world([spec("a", { mode: "hpa" })]);
    const lease = hpaLeases(snapshot, "builtin")[0]!;
    expect(scaledToEvent(lease, 1, 5)).toMatchObject({ _tag: "ServerObserved", state: "Up", readyReplicas: 1, scaledTo: 1, at: 5 });
    expect(scaledToEvent({ ...lease, scaledByBackend: true }, 1, 5)).toBeUndefined();
    expect(scaledToEvent({ ...lease, scaledByBackend: true }, 2, 5)).toMatchObject({ scaledTo: 2 });
    expect(scaledToEvent({ ...lease, serverReady: false }, 2, 5)).toBeUndefined();
    expect(scaledToEvent(lease, undefined, 5)).toBeUndefined();
  });
});

describe("hpa mode: the service", () => {
  it("applies the autoscaler, hands the HPA's count to the core, which scales within bounds; the target hears the count reached", async () => {
    const initial = world([spec("a", { mode: "hpa" }), spec("b", { mode: "builtin" })]);
    let snapshot = initial.snapshot;
    const serverId = initial.servers.a!;
    const intents: Intent[] = [];
    const commits = await Effect.runPromise(Queue.unbounded<Commit>());
    const engine = {
      snapshot: () => snapshot,
      subscribe: Effect.succeed(commits),
      submit: (event: Event) =>
        Effect.sync(() => {
          const result = decide(snapshot, event, defaultDecideConfig);
          snapshot = result.snapshot;
          intents.push(...result.intents);
          return { result, committed: true, duplicate: false, snapshot };
        }),
    } as unknown as EngineShape;

    // The HPA's decision lives in the scale target: the test moves it as the HPA controller would.
    let hpaReplicas = 1;
    const ensured: LeaseAutoscalerSpec[] = [];
    const statuses: number[] = [];
    const deleted: string[] = [];
    const autoscaler: BackendAutoscalerShape = {
      defaultMode: "builtin",
      ensureLeaseAutoscaler: (s) => Effect.sync(() => void ensured.push(s)),
      syncScaleTarget: (id, replicas) =>
        Effect.sync(() => {
          expect(id).toBe(serverId);
          statuses.push(replicas);
          return hpaReplicas;
        }),
      deleteLeaseAutoscaler: (name) => Effect.sync(() => void deleted.push(name)),
    };
    const routing: LeaseRoutingShape = {
      autoscaling: "builtin",
      autoscaler,
      ensureLeaseRoute: () => Effect.void,
      deleteLeaseRoute: () => Effect.void,
      leaseRoutes: () => Effect.succeed([]),
      setLeaseMember: () => Effect.void,
    };
    const scope = await Effect.runPromise(Scope.make());
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(ok(), what).toBe(true);
    };
    try {
      const service = await Effect.runPromise(makeLeaseRouting(engine, routing, Effect.succeed([]), { probeIntervalMs: 20, probeTimeoutMs: 100 }).pipe(Scope.extend(scope)));
      // Only the hpa lease gets an autoscaler; the first count (equal) takes the server from berthd's autoscaler.
      await until("the server left to the backend", () => snapshot.servers[serverId]?.scaledBy === "backend");
      expect(ensured.map((s) => s.leaseName)).toEqual(["a"]);
      expect(service.autoscalers()).toEqual(new Map([["a", serverId]]));
      expect(snapshot.servers[initial.servers.b!]?.scaledBy).toBeUndefined();

      hpaReplicas = 3;
      await until("three replicas", () => snapshot.servers[serverId]?.replicas.length === 3);
      expect(intents.filter((i) => i._tag === "ScaleServer").map((i) => (i as Extract<Intent, { _tag: "ScaleServer" }>).replicas)).toEqual([3]);
      await until("the count reached told to the target", () => statuses.at(-1) === 3);

      // Above maxReplicas the core holds at its bound.
      hpaReplicas = 9;
      await new Promise((r) => setTimeout(r, 150));
      expect(snapshot.servers[serverId]?.replicas.length).toBe(3);

      hpaReplicas = 1;
      await until("back to one replica", () => snapshot.servers[serverId]?.replicas.length === 1);
      // Released: its autoscaler goes.
      const released = decide(snapshot, { _tag: "LeaseReleased", at: 10, name: "a" }, defaultDecideConfig);
      snapshot = released.snapshot;
      await until("the autoscaler deleted", () => deleted.includes("a"));
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void));
    }
  });
});
