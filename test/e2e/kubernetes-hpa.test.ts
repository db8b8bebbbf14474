// berthd on the real single-node cluster in `hpa` mode (the Kubernetes default): an autoscaled
// lease gets a HorizontalPodAutoscaler (autoscaling/v2beta2, what v1.20 serves) on its metric,
// whose scale target is the server's BerthServer (a custom resource with /scale). The cluster has
// no metrics API, so the HPA's decision is made as the HPA controller makes it: through /scale
// (`kubectl scale berthserver`). berthd follows: the core places the replicas, each becomes its
// own Deployment, the lease's Service takes them in once their sidecars loaded the model, and
// the count reached goes to the BerthServer's status. Released, the HPA and BerthServer go too.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, eventually, kubeCluster, kubectl, kubectlJson, type KubeItem, kubeTestConfig, startKubeStack, type KubeStack } from "./support/kube-stack.js";

const state = kubeCluster();
const mustRun = process.env.CI === "true";
if (!state.up && !mustRun) console.warn(`skipping the Kubernetes hpa e2e test: ${state.reason}`);

const SERVER_ID = "berth.dev/server-id";
const SMALL = ["--cpu", "100m", "--memory", "512Mi"];

describe.skipIf(!state.up && !mustRun)("berthd with the kubernetes backend in hpa mode, end to end", () => {
  const kubeconfig = state.up ? state.kubeconfig : "";
  const namespace = `berth-e2e-hpa-${randomBytes(3).toString("hex")}`;
  let stack: KubeStack;
  const k = (...args: string[]) => kubectlJson(kubeconfig, "-n", namespace, ...args);
  const pods = (selector: string) => k("get", "pods", "-l", selector).items.filter((p) => p.metadata.deletionTimestamp === undefined);
  const endpointPods = (service: string): string[] => {
    const ep = kubectlJson<{ subsets?: { addresses?: { targetRef?: { name: string } }[] }[] }>(kubeconfig, "-n", namespace, "get", "endpoints", service, "--ignore-not-found");
    return (ep?.subsets ?? []).flatMap((s) => s.addresses ?? []).map((a) => a.targetRef?.name ?? "").sort();
  };
  const berthServer = (id: string) => kubectlJson<KubeItem & { spec?: { replicas?: number }; status?: { replicas?: number; selector?: string } }>(kubeconfig, "-n", namespace, "get", "berthservers.berth.dev", id);

  beforeAll(async () => {
    if (!state.up) throw new Error(`CI=true and no cluster: ${state.reason}`);
    await createTestNamespace(kubeconfig, namespace);
    // Apart from the backend's tests (31000-31799) and the other e2e tests (32000-32399); hpa is
    // the backend's default, said here because npm start's one-machine default is builtin.
    stack = await startKubeStack(kubeconfig, kubeTestConfig(namespace, { first: 32400, last: 32599 }, { autoscaling: "hpa" }));
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (state.up) kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false", "--ignore-not-found");
  }, 60_000);

  it("an autoscaled lease gets a v2beta2 HPA on its BerthServer; the HPA's /scale decision is followed up and down (Deployments, Service); released, all gone", async () => {
    const created = await stack.berth("lease", "create", "kube-hpa", "-m", "simple", "--duration", "5m", ...SMALL, "--min-replicas", "1", "--max-replicas", "3", "--metric", "queue_time", "--target", "200", "--wait", "--wait-timeout", "100s", "-o", "json");
    expect(created.code, `${created.stderr}\n${stack.output().slice(-3000)}`).toBe(0);
    const serverId = (await stack.client.lease.get({ name: "kube-hpa" })).placement!.serverId;

    const hpa = await eventually("the lease's HPA", () => kubectlJson<KubeItem & { spec?: Record<string, unknown> }>(kubeconfig, "-n", namespace, "get", "horizontalpodautoscalers.v2beta2.autoscaling", "kube-hpa"), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${stack.output().slice(-4000)}`);
    });
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "berth.dev/v1alpha1", kind: "BerthServer", name: serverId },
      minReplicas: 1,
      maxReplicas: 3,
      metrics: [{ type: "Pods", pods: { metric: { name: "berth_queue_time" }, target: { type: "AverageValue", averageValue: "200" } } }],
    });
    expect(hpa.metadata.ownerReferences?.map((o) => o.name)).toEqual([`berth-server-${serverId}`]);
    expect(berthServer(serverId)).toMatchObject({ spec: { replicas: 1 }, status: { replicas: 1, selector: `${SERVER_ID}=${serverId}` } });
    await eventually("kube-hpa's Endpoints = its one pod", () => (endpointPods("kube-hpa").length === 1 ? true : undefined), 60_000);

    // The HPA's decision, made the way the HPA controller makes it: through /scale.
    kubectl(kubeconfig, "-n", namespace, "scale", "berthservers.berth.dev", serverId, "--replicas=2");
    const two = await eventually(
      "two replicas, both in kube-hpa's Endpoints",
      () => {
        const names = pods(`${SERVER_ID}=${serverId}`).map((p) => p.metadata.name).sort();
        return names.length === 2 && endpointPods("kube-hpa").join() === names.join() ? names : undefined;
      },
      90_000,
      500,
    );
    expect(two).toHaveLength(2);
    expect(k("get", "deployments", "-l", `${SERVER_ID}=${serverId}`).items.map((d) => d.metadata.name).sort()).toEqual([`${serverId}-0`, `${serverId}-1`]);
    await eventually("the BerthServer's status at 2", () => (berthServer(serverId).status?.replicas === 2 ? true : undefined), 20_000);

    kubectl(kubeconfig, "-n", namespace, "scale", "berthservers.berth.dev", serverId, "--replicas=1");
    await eventually("back to one replica Deployment", () => (k("get", "deployments", "-l", `${SERVER_ID}=${serverId}`).items.length === 1 ? true : undefined), 60_000, 500);
    await eventually("the BerthServer's status at 1", () => (berthServer(serverId).status?.replicas === 1 ? true : undefined), 20_000);
    expect(berthServer(serverId).spec?.replicas).toBe(1);

    const released = await stack.berth("lease", "release", "kube-hpa");
    expect(released.code, released.stderr).toBe(0);
    await eventually(
      "every object of the lease gone",
      () => {
        const left = [
          ...k("get", "services").items.map((s) => `service/${s.metadata.name}`),
          ...k("get", "deployments").items.map((d) => `deployment/${d.metadata.name}`),
          ...k("get", "pods").items.map((p) => `pod/${p.metadata.name}`),
          ...k("get", "horizontalpodautoscalers.v2beta2.autoscaling").items.map((h) => `hpa/${h.metadata.name}`),
          ...k("get", "berthservers.berth.dev").items.map((b) => `berthserver/${b.metadata.name}`),
        ];
        return left.length === 0 ? true : undefined;
      },
      60_000,
      500,
    );
  }, 200_000);
});
