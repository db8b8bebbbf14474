import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, eventually, startBerthd, type RunningBerthd } from "./harness.js";

// The whole stack for real: berthd with the process backend starts berth-model-server and
// berth-sidecar as child processes; the sidecar pulls the demo model, loads it, measures it and
// reports back over SidecarService; the lease becomes Ready with the server's endpoint.

const modelServers = (stateDir: string): number => {
  try {
    return execFileSync("pgrep", ["-f", stateDir], { encoding: "utf8" }).trim().split("\n").filter((l) => l !== "").length;
  } catch {
    return 0;
  }
};

describe("berthd with the process backend", () => {
  let berthd: RunningBerthd;
  beforeAll(async () => {
    berthd = await startBerthd({ config: { backend: { kind: "process" }, nodes: [{ name: "local", gpus: [{ memory: "4Gi" }] }] } });
  });
  afterAll(async () => {
    await berthd?.stop();
  });

  it("creates a lease on a real model server and sidecar, and cleans up on release and stop", async () => {
    const client = berthd.client();
    const progress = await collect(client.lease.create({ spec: { name: "real", models: [{ name: "simple" }], resources: { gpuMemory: "512Mi" } }, wait: true, waitTimeout: { seconds: 60, nanos: 0 } }));
    const phases = progress.map((p) => p.lease?.phase);
    expect(phases.at(-1)).toBe("LEASE_PHASE_READY");
    expect(new Set(phases).size).toBe(phases.length);
    const lease = progress.at(-1)!.lease!;
    expect(lease.placement?.endpoints[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    const health = await fetch(`http://${lease.placement!.endpoints[0]}/v2/health/ready`);
    expect(health.status).toBe(200);
    const server = await client.server.get({ id: lease.placement!.serverId });
    expect(server.memoryMeasuredBytes).toBeGreaterThan(0);
    expect(modelServers(berthd.stateDir)).toBeGreaterThan(0);

    await client.lease.release({ name: "real" });
    await eventually("the bespoke server gone", async () => ((await client.server.list()).servers.length === 0 ? true : undefined), 20_000);
    await eventually("its processes stopped", () => (modelServers(berthd.stateDir) === 0 ? true : undefined), 20_000);
  }, 90_000);
});
