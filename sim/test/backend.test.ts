import type { Event, Intent } from "@berth/core/decide/types";
import type { ServerTemplate } from "@berth/core/spec/types";
import { GiB } from "@berth/core/units";
import { describe, expect, it } from "vitest";
import { SimCatalog } from "../src/backend/catalog.js";
import { randomStreams } from "../src/backend/random-streams.js";
import { SimulatedBackend } from "../src/backend/simulated-backend.js";
import { buildNodes } from "../src/cluster/nodes.js";
import { PhysicalCluster } from "../src/cluster/physical.js";
import { Simulation } from "../src/engine/index.js";
import type { FailureSpec } from "../src/scenario/schema.js";

const template: ServerTemplate = {
  image: "tritonserver",
  group: "onnxruntime",
  resources: { gpuMemory: 8 * GiB, gpus: 0, gpuMilli: 500, cpu: 2000, memory: 8 * GiB, gpuModels: [] },
};
const model = { name: "resnet", repository: "sim" };

const setup = (failures: Partial<FailureSpec> = {}) => {
  const sim = new Simulation();
  const nodes = buildNodes({ nodeGroups: [{ name: "a10", count: 2, cpu: 8000, memory: 32 * GiB, gpus: { count: 2, model: "A10", memory: 24 * GiB } }] });
  const physical = new PhysicalCluster(nodes);
  const catalog = new SimCatalog([{ name: "resnet", repository: "sim", platform: "onnxruntime_onnx", size: GiB, gpuMemory: 2 * GiB, loadTime: { kind: "constant", value: 3000 } }], new Map());
  const events: Event[] = [];
  const backend = new SimulatedBackend({
    sim, physical, catalog, streams: randomStreams(1), startup: () => 10_000,
    failures: { nodeLoss: [], slowLoads: { probability: 0, factor: 1 }, failedLoads: { probability: 0 }, ...failures },
    emit: (e) => events.push(e),
  });
  const ensure = (serverId: string, node = "a10-0", replicas = 1): Intent => ({
    _tag: "EnsureServer", serverId, node, gpus: [{ index: 0, milli: 500, memory: 8 * GiB }], template, replicas,
    placements: Array.from({ length: replicas }, () => ({ node, gpus: [{ index: 0, milli: 500, memory: 8 * GiB }] })),
  });
  return { sim, physical, backend, events, ensure };
};

const tags = (events: readonly Event[]) => events.map((e) => `${e._tag}@${e.at}${"state" in e ? `:${e.state}` : ""}`);

describe("SimulatedBackend", () => {
  it("reports a server Up after its start-up time, then its lease's models loaded after the load time", () => {
    const { sim, backend, events, ensure, physical } = setup();
    backend.execute(ensure("srv-1"));
    backend.execute({ _tag: "AssignLease", serverId: "srv-1", leaseId: "l1", models: [model] });
    expect(physical.gpuAllocated()).toEqual({ milli: 500, memory: 8 * GiB });
    sim.run();
    expect(tags(events)).toEqual(["ServerObserved@10000:Up", "ModelsLoaded@13000"]);
    expect(events[1]).toMatchObject({ leaseId: "l1", measuredMemory: 2 * GiB, loadTime: 3000 });
    expect(backend.counters.coldLoads).toBe(1);
  });

  it("loads nothing again for a second lease of resident models (a warm load)", () => {
    const { sim, backend, events, ensure } = setup();
    backend.execute(ensure("srv-1"));
    backend.execute({ _tag: "AssignLease", serverId: "srv-1", leaseId: "l1", models: [model] });
    sim.run();
    backend.execute({ _tag: "AssignLease", serverId: "srv-1", leaseId: "l2", models: [model] });
    sim.run();
    expect(tags(events).at(-1)).toBe("ModelsLoaded@13000");
    expect(backend.counters).toMatchObject({ coldLoads: 1, warmLoads: 1 });
  });

  it("fails loads with the scenario's probability", () => {
    const { sim, backend, events, ensure } = setup({ failedLoads: { probability: 1 } });
    backend.execute(ensure("srv-1"));
    backend.execute({ _tag: "AssignLease", serverId: "srv-1", leaseId: "l1", models: [model] });
    sim.run();
    expect(events.at(-1)).toMatchObject({ _tag: "ModelsFailed", leaseId: "l1", at: 13_000 });
  });

  it("stretches slow loads by the factor", () => {
    const { sim, backend, events, ensure } = setup({ slowLoads: { probability: 1, factor: 4 } });
    backend.execute(ensure("srv-1"));
    backend.execute({ _tag: "AssignLease", serverId: "srv-1", leaseId: "l1", models: [model] });
    sim.run();
    expect(events.at(-1)).toMatchObject({ _tag: "ModelsLoaded", at: 10_000 + 12_000 });
  });

  it("gives the room back on DeleteServer and ignores the server's pending reports", () => {
    const { sim, backend, events, ensure, physical } = setup();
    backend.execute(ensure("srv-1"));
    backend.execute({ _tag: "DeleteServer", serverId: "srv-1" });
    sim.run();
    expect(events).toEqual([]);
    expect(physical.gpuAllocated()).toEqual({ milli: 0, memory: 0 });
    backend.execute({ _tag: "DeleteServer", serverId: "srv-1" }); // idempotent
  });

  it("scales replicas up after start-up and down at once", () => {
    const { sim, backend, events, ensure, physical } = setup();
    backend.execute(ensure("srv-1"));
    sim.run();
    const p = { node: "a10-1", gpus: [{ index: 1, milli: 500, memory: 8 * GiB }] };
    backend.execute({ _tag: "ScaleServer", serverId: "srv-1", replicas: 2, placements: [{ node: "a10-0", gpus: [{ index: 0, milli: 500, memory: 8 * GiB }] }, p] });
    expect(physical.gpuAllocated().milli).toBe(1000);
    sim.run();
    expect(events.at(-1)).toMatchObject({ _tag: "ServerObserved", state: "Up", readyReplicas: 2, at: 20_000 });
    backend.execute({ _tag: "ScaleServer", serverId: "srv-1", replicas: 1, placements: [{ node: "a10-0", gpus: [{ index: 0, milli: 500, memory: 8 * GiB }] }] });
    expect(events.at(-1)).toMatchObject({ readyReplicas: 1 });
    expect(physical.gpuAllocated().milli).toBe(500);
  });

  it("reports a server Gone when its node is lost for good, and Down then Up when the node comes back", () => {
    const lost = setup();
    lost.backend.execute(lost.ensure("srv-1"));
    lost.sim.run();
    lost.backend.loseNode("a10-0", true);
    expect(lost.events.at(-1)).toMatchObject({ _tag: "ServerObserved", state: "Gone", readyReplicas: 0 });
    expect(lost.physical.gpuAllocated().milli).toBe(0);

    const back = setup();
    back.backend.execute(back.ensure("srv-1"));
    back.backend.execute({ _tag: "AssignLease", serverId: "srv-1", leaseId: "l1", models: [model] });
    back.sim.run();
    back.backend.loseNode("a10-0", false);
    expect(back.events.at(-1)).toMatchObject({ state: "Down" });
    back.sim.at(100_000, () => back.backend.recoverNode("a10-0"));
    back.sim.run();
    // restarted, and the sidecar loads its assignment again
    expect(tags(back.events).slice(-2)).toEqual(["ServerObserved@110000:Up", "ModelsLoaded@113000"]);
  });

  it("crashes servers at the scenario's rate and restarts them", () => {
    const { sim, backend, events, ensure } = setup({ serverCrash: { meanTimeBetween: 60_000 } });
    backend.execute(ensure("srv-1"));
    sim.run(3_600_000);
    expect(backend.counters.serverCrashes).toBeGreaterThan(10);
    const states = events.filter((e) => e._tag === "ServerObserved").map((e) => (e as { state: string }).state);
    expect(states[0]).toBe("Up");
    for (let i = 1; i < states.length; i++) expect(states[i]).not.toBe(states[i - 1]);
  });
});
