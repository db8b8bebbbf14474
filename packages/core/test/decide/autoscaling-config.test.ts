import { describe, expect, it } from "vitest";
import { defaultDecideConfig, type DecideConfig } from "../../src/decide/index.js";
import { readyAutoscaledLease } from "./fixtures.js";

// DecideConfig's stabilization windows reach the `hpa` policy decide builds: with a 3 s
// scale-down window a lease shrinks 3 s after its load went, with Kubernetes' default (5 min)
// it still holds its replicas then.

const autoscaling = { metric: "queue_time", target: 100, minReplicas: 1, maxReplicas: 3, policy: "hpa" as const };

const scaledUpWorld = (config: DecideConfig) => {
  const { w, serverId } = readyAutoscaledLease(config, autoscaling);
  w.step({ _tag: "MetricObserved", at: 500, leaseId: "l1", sample: { value: 1_000, readyReplicas: 1 } });
  w.step({ _tag: "Tick", at: 1_000 });
  expect(w.snapshot.servers[serverId]!.replicas.length).toBeGreaterThan(1);
  // The load is gone: queue time far under target, every second from now on.
  const replicasAt = (at: number): number => {
    for (let t = 2_000; t <= at; t += 1_000) {
      w.step({ _tag: "MetricObserved", at: t - 500, leaseId: "l1", sample: { value: 0, readyReplicas: w.snapshot.servers[serverId]!.replicas.length } });
      w.step({ _tag: "Tick", at: t });
    }
    return w.snapshot.servers[serverId]!.replicas.length;
  };
  return { replicasAt };
};

const fast = (over: Partial<DecideConfig["autoscaler"]>): DecideConfig => ({
  ...defaultDecideConfig,
  autoscaler: { ...defaultDecideConfig.autoscaler, syncPeriod: 1_000, ...over },
});

describe("decide: the hpa policy's stabilization windows from DecideConfig", () => {
  it("a short scale-down window shrinks the lease once the window has passed", () => {
    const { replicasAt } = scaledUpWorld(fast({ scaleDownStabilization: 3_000 }));
    expect(replicasAt(3_000)).toBeGreaterThan(1);
    expect(replicasAt(6_000)).toBe(1);
  });

  it("without the key, Kubernetes' 5-minute window holds the replicas", () => {
    const { replicasAt } = scaledUpWorld(fast({}));
    expect(replicasAt(60_000)).toBeGreaterThan(1);
  });

  it("a scale-up window holds a scale-up until the load lasted that long", () => {
    const { w, serverId } = readyAutoscaledLease(fast({ scaleUpStabilization: 5_000 }), autoscaling);
    const grownBy = (at: number): number => {
      for (let t = w.snapshot.now + 1_000; t <= at; t += 1_000) {
        w.step({ _tag: "MetricObserved", at: t - 500, leaseId: "l1", sample: { value: 1_000, readyReplicas: 1 } });
        w.step({ _tag: "Tick", at: t });
      }
      return w.snapshot.servers[serverId]!.replicas.length;
    };
    expect(grownBy(3_000)).toBe(1);
    expect(grownBy(8_000)).toBeGreaterThan(1);
  });
});
