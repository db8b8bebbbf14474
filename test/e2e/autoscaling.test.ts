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
// The load calibrates itself: a fixed number of clients queues requests on a quiet machine but
// not on a busy one, where the clients themselves get little CPU and the replica's queue time
// is scheduling noise around the target (measured on 2 shared cores: 20-80 requests/s, queue
// time 0.07-5 ms against the 1 ms target). So clients are added until the replica's own
// statistics (what its sidecar reports) show queue time well over the target.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Server } from "@berth/api/berth";
import { until } from "./support/kserve.js";
import { startLoad } from "./support/load.js";
import { probeQueues } from "./support/queue-probe.js";
import { startStack, type Stack } from "./support/stack.js";

const TARGET_MS = 1;
/** Clients are added while the replicas' queue time is under this. */
const DRIVE_TO_MS = 3 * TARGET_MS;
const CLIENTS_FIRST = 16;
const CLIENTS_STEP = 16;
const CLIENTS_MAX = 128;

// Opt-in (BERTH_E2E_AUTOSCALING=1) again: on a QUIET 2-core machine no queue forms at the replica.
// `simple` takes ~0.3 ms, so the router and the load generator (sharing the two cores) are the
// bottleneck: CI on 2026-11-25 at load 1.6 served 2,600 requests/s with 128 clients while the
// replica's in-flight count stayed at 0.3-1.3 and its queue time at 0.05-1 ms, under the 1 ms
// target (the smallest a duration can say). On a busy machine it passes (5/5 beside 3 busy loops,
// and in the full suite at load ~6). What it needs: a demo model with a service time of a few ms
// (a deeper FP32 MatMul chain), so the replica, not the router, saturates on any machine.
describe.skipIf(process.env.BERTH_E2E_AUTOSCALING !== "1")("autoscaling on queue time", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      config: {
        nodes: [{ name: "local", gpus: [{ memory: "4Gi" }, { memory: "4Gi" }, { memory: "4Gi" }] }],
        autoscaler: { syncPeriod: "1s", scaleDownStabilization: "3s" },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it("grows under load, spreads requests over the replicas, and shrinks after the load", async () => {
    const created = await stack.berth(
      "lease", "create", "elastic", "-m", "simple", "--gpu-memory", "256Mi",
      "--metric", "queue_time", "--target", `${TARGET_MS}ms`, "--min-replicas", "1", "--max-replicas", "3", "--policy", "hpa", "--wait",
    );
    expect(created.code, created.stderr).toBe(0);
    const serverId = (await stack.client.lease.get({ name: "elastic" })).placement!.serverId;
    const server = (): Promise<Server> => stack.client.server.get({ id: serverId });

    const probe = probeQueues(async () => (await server()).endpoints);
    const load = startLoad(stack.router, CLIENTS_FIRST);
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
