// berthd HA on the real cluster: two `npm start -- --backend kubernetes` with the same
// `leaderElection` Lease. The first holds the Lease and serves; the second stands by (its engine
// waits to lead, so it neither acts nor serves) while the Lease is renewed. The leader crashes
// (SIGKILL: nothing released); once the Lease expires the standby takes it over, starts serving
// and runs the executor: a lease created on it becomes Ready on the cluster.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, eventually, kubeCluster, kubectl, kubectlJson, kubeTestConfig, spawnKubeStack, type SpawnedKubeStack } from "./support/kube-stack.js";

const state = kubeCluster();
const mustRun = process.env.CI === "true";
if (!state.up && !mustRun) console.warn(`skipping the Kubernetes HA e2e test: ${state.reason}`);

describe.skipIf(!state.up && !mustRun)("berthd leader election with a coordination.k8s.io Lease", () => {
  const kubeconfig = state.up ? state.kubeconfig : "";
  const namespace = `berth-e2e-ha-${randomBytes(3).toString("hex")}`;
  const stacks: SpawnedKubeStack[] = [];
  // Apart from the backend's tests (31000-31599) and the routing e2e (32000-32299).
  const config = (identity: string) => kubeTestConfig(namespace, { first: 32300, last: 32399 }, { leaderElection: { name: "berthd", identity, leaseDurationSeconds: 4, retryPeriodMs: 500 } });
  const holder = () => kubectlJson<{ spec: { holderIdentity?: string; leaseTransitions?: number } }>(kubeconfig, "-n", namespace, "get", "leases.coordination.k8s.io", "berthd").spec;

  beforeAll(async () => {
    if (!state.up) throw new Error(`CI=true and no cluster: ${state.reason}`);
    await createTestNamespace(kubeconfig, namespace);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    if (state.up) kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false", "--ignore-not-found");
  }, 60_000);

  it("one leads, the other stands by; the leader crashes and the standby takes over and acts", async () => {
    const a = spawnKubeStack(kubeconfig, config("berthd-a"));
    stacks.push(a);
    await a.started;
    expect(holder().holderIdentity).toBe("berthd-a");

    const b = spawnKubeStack(kubeconfig, config("berthd-b"));
    stacks.push(b);
    const bStarted = b.started.then(() => Date.now());
    const bLog = () => (existsSync(join(b.stateDir, "berthd.log")) ? readFileSync(join(b.stateDir, "berthd.log"), "utf8") : "");
    // B is up to its election and waits there: its engine has not started (nothing recovered).
    await eventually("B in the election, standing by", () => (bLog().includes("standing by: not leading") ? true : undefined), 30_000);
    // Longer than the Lease's duration: A renews it, B keeps waiting.
    const standby = await Promise.race([bStarted.then(() => "started"), new Promise((r) => setTimeout(() => r("standing by"), 6000))]);
    expect(standby, b.output()).toBe("standing by");
    expect(bLog()).not.toContain("state recovered");
    expect(holder().holderIdentity).toBe("berthd-a");

    const crashedAt = Date.now();
    a.crash();
    const tookOver = await Promise.race([bStarted, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`B did not take over:\n${b.output()}`)), 30_000))]);
    // Not before the crashed leader's Lease expired (4 s, measured by B's own clock).
    expect(tookOver - crashedAt).toBeGreaterThanOrEqual(3000);
    const lease = holder();
    expect(lease.holderIdentity).toBe("berthd-b");
    expect(bLog()).toContain("state recovered");
    expect(lease.leaseTransitions).toBeGreaterThanOrEqual(1);

    // The new leader acts: a lease on it is placed on the cluster and becomes Ready.
    const bStack = await b.started;
    const created = await bStack.berth("lease", "create", "ha-simple", "-m", "simple", "--cpu", "100m", "--memory", "512Mi", "--duration", "5m", "--wait", "--wait-timeout", "60s", "-o", "json");
    expect(created.code, `${created.stderr}\n${b.output().slice(-3000)}`).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: "ha-simple", phase: "Ready" });
    expect(kubectlJson(kubeconfig, "-n", namespace, "get", "pods").items.length).toBe(1);
  }, 120_000);
});
