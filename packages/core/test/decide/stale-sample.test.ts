import { describe, expect, it } from "vitest";
import { sampleMaxAge } from "../../src/decide/autoscale.js";
import { defaultDecideConfig, type DecideConfig } from "../../src/decide/index.js";
import { readyAutoscaledLease } from "./fixtures.js";

// A lease's metric comes from its replicas' reports, every sync period while they run. When the
// reports stop, the last sample says nothing about the load now: the autoscaler must not scale
// on it (here: a low reading, then silence while the load may well be back, must not shrink the
// lease once the scale-down window has passed). The window (5 s) is longer than a sample's
// life (sampleMaxAge, 3 s here), so only the silence can keep it.

const autoscaling = { metric: "queue_time", target: 100, minReplicas: 1, maxReplicas: 3, policy: "hpa" as const };
const config: DecideConfig = {
  ...defaultDecideConfig,
  autoscaler: { ...defaultDecideConfig.autoscaler, syncPeriod: 1_000, scaleDownStabilization: 5_000, sampleMaxAge: 3_000 },
};

const grownToThree = () => {
  const { w, serverId } = readyAutoscaledLease(config, autoscaling);
  const replicas = () => w.snapshot.servers[serverId]!.replicas.length;
  for (let t = 1_000; t <= 5_000; t += 1_000) {
    w.step({ _tag: "MetricObserved", at: t - 500, leaseId: "l1", sample: { value: 1_000, readyReplicas: replicas() } });
    w.step({ _tag: "Tick", at: t });
  }
  expect(replicas()).toBe(3);
  return { w, replicas };
};

describe("decide: autoscaling on a stale metric", () => {
  it("holds the replicas once the last sample is older than sampleMaxAge", () => {
    const { w, replicas } = grownToThree();
    // One low reading, then no report at all.
    w.step({ _tag: "MetricObserved", at: 5_500, leaseId: "l1", sample: { value: 10, readyReplicas: 3 } });
    for (let t = 6_000; t <= 20_000; t += 1_000) w.step({ _tag: "Tick", at: t });
    expect(replicas()).toBe(3);
    expect(w.snapshot.leases["l1"]!.lastSampleAt).toBe(5_500);
  });

  it("still scales down on samples that keep coming", () => {
    const { w, replicas } = grownToThree();
    for (let t = 6_000; t <= 12_000; t += 1_000) {
      w.step({ _tag: "MetricObserved", at: t - 500, leaseId: "l1", sample: { value: 10, readyReplicas: replicas() } });
      w.step({ _tag: "Tick", at: t });
    }
    expect(replicas()).toBe(1);
  });
});

describe("sampleMaxAge", () => {
  it("is three sync periods, and at least three of the sidecars' default 10 s report interval", () => {
    expect(sampleMaxAge({ syncPeriod: 15_000 })).toBe(45_000);
    expect(sampleMaxAge({ syncPeriod: 1_000 })).toBe(30_000);
    expect(sampleMaxAge({ syncPeriod: 1_000, sampleMaxAge: 3_000 })).toBe(3_000);
  });
});
