// Autoscaling end to end with the built-in autoscaler: a bespoke lease with min 1, max 3
// replicas on queue time; a load generator through the router drives queue time over the
// target -> replicas grow and the router spreads requests over them (each replica's own
// statistics count inferences); the load stops -> replicas shrink after the (short)
// stabilization window.
//
// berthd's side: the sidecars report each replica's queue time, the hub turns it into
// MetricObserved every `autoscaler.syncPeriod` (1 s here), and the `hpa` policy's scale-down
// stabilization window is `autoscaler.scaleDownStabilization` (3 s here, 5 min by default).
//
// The replica must be the bottleneck on any machine: the lease serves `slow_mlp` (~5 ms of compute
// per request, support/slow-model.ts) from the test's own repository. With `simple` (~0.3 ms) a
// quiet 2-core machine saturated the router and the load generator first (2,600 requests/s with
// 128 clients, the replica's queue time 0.05-1 ms), so no queue formed where the autoscaler looks.
// The load still calibrates itself as a safety net: clients are added while the replicas' own
// statistics (what their sidecars report) show queue time under DRIVE_TO_MS.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Server } from "@berth/api/berth";
import { until } from "./support/kserve.js";
import { startLoad } from "./support/load.js";
import { probeQueues } from "./support/queue-probe.js";
import { inferSlow, SLOW_MODEL, slowExpected, slowInput, writeSlowRepository } from "./support/slow-model.js";
import { startStack, type Stack } from "./support/stack.js";

const TARGET_MS = 10;
/** Clients are added while the replicas' queue time is under this. */
const DRIVE_TO_MS = 3 * TARGET_MS;
const CLIENTS_FIRST = 16;
const CLIENTS_STEP = 16;
const CLIENTS_MAX = 96;

describe("autoscaling on queue time", () => {
  let stack: Stack;
  let repository: string;

  beforeAll(async () => {
    repository = mkdtempSync(join(tmpdir(), "berth-slow-repo-"));
    await writeSlowRepository(repository);
    stack = await startStack({
      config: {
        nodes: [{ name: "local", gpus: [{ memory: "4Gi" }, { memory: "4Gi" }, { memory: "4Gi" }] }],
        repositories: { slow: { dir: repository } },
        autoscaler: { syncPeriod: "1s", scaleDownStabilization: "3s" },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(repository, { recursive: true, force: true });
  }, 60_000);
  it("grows under load, spreads requests over the replicas, and shrinks after the load", async () => {
    const created = await stack.berth(
      "lease", "create", "elastic", "-m", SLOW_MODEL, "--gpu-memory", "256Mi",
      "--metric", "queue_time", "--target", `${TARGET_MS}ms`, "--min-replicas", "1", "--max-replicas", "3", "--policy", "hpa", "--wait",
    );
    expect(created.code, created.stderr).toBe(0);
    const serverId = (await stack.client.lease.get({ name: "elastic" })).placement!.serverId;
    const server = (): Promise<Server> => stack.client.server.get({ id: serverId });

    // The model answers what it computes, through the router.
    const first = await inferSlow(stack.router, 7);
    expect(first.status).toBe(200);
    const expected = slowExpected(slowInput(7));
    expect(first.y).toHaveLength(expected.length);
    first.y!.forEach((y, i) => expect(y).toBeCloseTo(expected[i]!, 3));

    const probe = probeQueues(async () => (await server()).endpoints, SLOW_MODEL);
    const load = startLoad(async (seed) => (await inferSlow(stack.router, seed)).status === 200, CLIENTS_FIRST);
    const story = () => `clients ${load.workers}, served ${load.served}, failed ${load.failed}; replicas' queue readings:\n${probe.describe()}`;
    try {
      let calibratedAt = Date.now();
      const grown = await until("replicas to grow", async () => {
        const s = await server();
        if (s.readyReplicas >= 2) return s;
        // More clients while the replicas do not queue enough (judged on readings taken since the last addition).
        if (Date.now() - calibratedAt >= 2_500 && load.workers < CLIENTS_MAX) {
          const recent = probe.latest(2_000);
          if (recent.length > 0 && Math.max(...recent.map((r) => r.queueTimeMs)) < DRIVE_TO_MS) {
            load.add(CLIENTS_STEP);
            calibratedAt = Date.now();
          }
        }
        return undefined;
        // Each new replica is a model server and a sidecar starting under tsx: seconds on a busy machine.
      }, 120_000, 250).catch((e: Error) => {
        throw new Error(`${e.message}\n${story()}`);
      });
      expect(grown.replicas).toBeLessThanOrEqual(3);
      // Every ready replica takes a share of the traffic: the router sent requests to at least two
      // (the replicas' own statistics say so; nothing else sends them inferences).
      await until("two replicas serving", () => (probe.serving().length >= 2 ? true : undefined), 30_000, 250).catch((e: Error) => {
        throw new Error(`${e.message}\n${story()}`);
      });
    } finally {
      await load.stop();
      await probe.stop();
    }
    expect(load.served).toBeGreaterThan(0);

    // No load: back to the minimum after the stabilization window.
    const shrunk = await until("replicas to shrink", async () => {
      const s = await server();
      return s.replicas === 1 ? s : undefined;
    }, 90_000, 250);
    expect(shrunk.readyReplicas).toBe(1);
    expect((await stack.client.lease.get({ name: "elastic" })).phase).toBe("LEASE_PHASE_READY");
  }, 360_000);
});
