// berthd on the real single-node cluster, driven as a user would: `npm start -- --backend
// kubernetes --kubeconfig FILE`, host-network pods on their own host ports, the sidecars dialing
// berthd on 127.0.0.1 and reading the demo repository through hostPath mounts. A lease on
// `simple` becomes a Deployment whose pod runs localhost/berth:dev, the sidecar loads the model,
// the lease turns Ready, its Service selects exactly the pods that hold it, and inference on the
// pod's host port answers simple's sum and difference. An autoscaled lease is scaled by berthd
// (builtin mode: two replica Deployments for min 2, both in its Service, none in the other's).
// A killed pod is replaced and rejoins the Service once its sidecar reloaded the lease.
// Released, everything it made is gone.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferSimple } from "./support/kserve.js";
import { createTestNamespace, eventually, KUBE_IMAGE, kubeCluster, kubectl, kubectlJson, type KubeItem, kubeTestConfig, startKubeStack, type KubeStack } from "./support/kube-stack.js";

const state = kubeCluster();
const mustRun = process.env.CI === "true";
if (!state.up && !mustRun) console.warn(`skipping the Kubernetes e2e tests: ${state.reason}`);

const SERVER_ID = "berth.dev/server-id";
// Three pods share the 2-CPU node: small requests.
const SIDECAR_SECRET = "e2e-sidecar-secret-0123456789abcdef";
const SMALL = ["--cpu", "100m", "--memory", "512Mi"];
const leaseLabel = (lease: string) => `lease.berth.dev/${lease}`;

describe.skipIf(!state.up && !mustRun)("berthd with the kubernetes backend, end to end", () => {
  const kubeconfig = state.up ? state.kubeconfig : "";
  const namespace = `berth-e2e-${randomBytes(3).toString("hex")}`;
  let stack: KubeStack;
  const k = (...args: string[]) => kubectlJson(kubeconfig, "-n", namespace, ...args);
  const pods = (selector: string) => k("get", "pods", "-l", selector).items.filter((p) => p.metadata.deletionTimestamp === undefined);
  const endpointPods = (service: string): string[] => {
    const ep = kubectlJson<{ subsets?: { addresses?: { targetRef?: { name: string } }[] }[] }>(kubeconfig, "-n", namespace, "get", "endpoints", service, "--ignore-not-found");
    return (ep?.subsets ?? []).flatMap((s) => s.addresses ?? []).map((a) => a.targetRef?.name ?? "").sort();
  };

  beforeAll(async () => {
    if (!state.up) throw new Error(`CI=true and no cluster: ${state.reason}`);
    await createTestNamespace(kubeconfig, namespace);
    // Apart from the backend's own tests (31000-31599); berthd's autoscaler is npm start's default
    // on one machine (hpa mode is test/e2e/kubernetes-hpa.test.ts's).
    // Sidecars authenticate (a token per server, minted from this secret, handed over in a Secret):
    // every lease that reaches Ready here was loaded by a sidecar berthd let in.
    stack = await startKubeStack(kubeconfig, { ...kubeTestConfig(namespace, { first: 32000, last: 32299 }), auth: { sidecarSecret: SIDECAR_SECRET } });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (state.up) kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false", "--ignore-not-found");
  }, 60_000);

  it("a lease on simple: Deployment, pod on localhost/berth:dev, model loaded, Ready, its Service selects its pods, inference on the host port; a killed pod replaced and back in the Service; an autoscaled lease scaled by berthd; released, all gone", async () => {
    const [plain, scaled] = await Promise.all([
      stack.berth("lease", "create", "kube-simple", "-m", "simple", "--duration", "5m", ...SMALL, "--wait", "--wait-timeout", "100s", "-o", "json"),
      stack.berth("lease", "create", "kube-scaled", "-m", "simple", "--duration", "5m", ...SMALL, "--min-replicas", "2", "--max-replicas", "3", "--metric", "queue_time", "--target", "200ms", "--wait", "--wait-timeout", "100s", "-o", "json"),
    ]);
    expect(plain.code, `${plain.stderr}\n${stack.output().slice(-3000)}`).toBe(0);
    expect(scaled.code, `${scaled.stderr}\n${stack.output().slice(-3000)}`).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ name: "kube-simple", phase: "Ready" });

    const lease = await stack.client.lease.get({ name: "kube-simple" });
    const serverId = lease.placement!.serverId;
    const scaledLease = await stack.client.lease.get({ name: "kube-scaled" });
    const scaledServer = scaledLease.placement!.serverId;
    expect(scaledServer).not.toBe(serverId);

    // The server is a record owning one Deployment per replica; its pod runs the Berth image.
    const deployments = k("get", "deployments", "-l", `${SERVER_ID}=${serverId}`).items;
    expect(deployments.map((d) => d.metadata.name)).toEqual([`${serverId}-0`]);
    const serverPods = pods(`${SERVER_ID}=${serverId}`);
    expect(serverPods).toHaveLength(1);
    const pod = serverPods[0]!;
    expect(pod.status?.phase).toBe("Running");
    const containers = (pod.spec as { containers: { name: string; image: string; ports?: { name: string; hostPort?: number }[] }[] }).containers;
    expect(containers.map((c) => [c.name, c.image])).toEqual([
      ["server", KUBE_IMAGE],
      ["sidecar", KUBE_IMAGE],
    ]);
    const hostHttp = containers[0]!.ports!.find((p) => p.name === "http")!.hostPort!;
    // The sidecar's token comes from the server's Secret, never as a value in the pod spec.
    const sidecarEnv = (pod.spec as { containers: { name: string; env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[] }).containers
      .find((c) => c.name === "sidecar")!.env ?? [];
    const tokenEnv = sidecarEnv.find((e) => e.name === "BERTH_SIDECAR_TOKEN");
    expect(tokenEnv?.value).toBeUndefined();
    expect(tokenEnv?.valueFrom?.secretKeyRef).toEqual({ name: `berth-sidecar-${serverId}`, key: "BERTH_SIDECAR_TOKEN" });
    const secret = kubectlJson<KubeItem & { data?: Record<string, string> }>(kubeconfig, "-n", namespace, "get", "secret", `berth-sidecar-${serverId}`);
    expect(Buffer.from(secret.data!["BERTH_SIDECAR_TOKEN"]!, "base64").toString("utf8").length).toBeGreaterThan(16);

    // The lease's Service selects exactly the pods holding it: this server's, not the other lease's.
    const service = kubectlJson<KubeItem>(kubeconfig, "-n", namespace, "get", "service", "kube-simple");
    expect((service.spec as { selector: Record<string, string> }).selector).toEqual({ [leaseLabel("kube-simple")]: "loaded" });
    expect(service.metadata.ownerReferences?.map((o) => o.name)).toEqual([`berth-server-${serverId}`]);
    await eventually("kube-simple's Endpoints = its pod", () => (endpointPods("kube-simple").join() === pod.metadata.name ? true : undefined), 20_000);
    expect(pods(`${leaseLabel("kube-simple")}=loaded`).map((p) => p.metadata.name)).toEqual([pod.metadata.name]);

    // Inference on the pod's host port on loopback: the endpoint berthd reports is that port.
    expect(lease.placement!.endpoints).toEqual([`127.0.0.1:${hostHttp}`]);
    const answer = await inferSimple(`http://127.0.0.1:${hostHttp}`, 5);
    expect(answer.status, answer.error).toBe(200);
    expect(answer.outputs.OUTPUT0).toEqual(answer.expected.sum);
    expect(answer.outputs.OUTPUT1).toEqual(answer.expected.difference);

    // A killed pod: the Deployment replaces it, the new pod starts out of the Service, its
    // sidecar reloads the lease and berthd puts the new pod in (same host ports: they are the replica's).
    kubectl(kubeconfig, "-n", namespace, "delete", "pod", pod.metadata.name, "--wait=false");
    const replacement = await eventually(
      "the replacement pod alone in kube-simple's Endpoints",
      () => {
        const now = endpointPods("kube-simple");
        return now.length === 1 && now[0] !== pod.metadata.name ? now[0] : undefined;
      },
      90_000,
      500,
    );
    expect(pods(`${leaseLabel("kube-simple")}=loaded`).map((p) => p.metadata.name)).toEqual([replacement]);
    const again = await inferSimple(`http://127.0.0.1:${hostHttp}`, 6);
    expect(again.status, again.error).toBe(200);
    expect(again.outputs.OUTPUT0).toEqual(again.expected.sum);

    // builtin autoscaling: berthd keeps the autoscaled lease at its minimum of two replicas, each
    // its own Deployment, both in its Service once their sidecars loaded the model.
    await eventually("two ready replicas of the autoscaled lease", () => (pods(`${SERVER_ID}=${scaledServer}`).length === 2 ? true : undefined), 60_000);
    expect(k("get", "deployments", "-l", `${SERVER_ID}=${scaledServer}`).items.map((d) => d.metadata.name).sort()).toEqual([`${scaledServer}-0`, `${scaledServer}-1`]);
    const scaledPods = await eventually(
      "both replicas in kube-scaled's Endpoints",
      () => {
        const names = pods(`${SERVER_ID}=${scaledServer}`).map((p) => p.metadata.name).sort();
        return endpointPods("kube-scaled").join() === names.join() && names.length === 2 ? names : undefined;
      },
      60_000,
    );
    expect(endpointPods("kube-simple")).toEqual([replacement]);
    expect(scaledPods).not.toContain(replacement);
    // No HorizontalPodAutoscaler in builtin mode: berthd scales.
    expect(kubectlJson(kubeconfig, "-n", namespace, "get", "horizontalpodautoscalers.v2beta2.autoscaling").items).toEqual([]);

    // Released: the Service, the Deployments, the pods and the record go.
    for (const name of ["kube-simple", "kube-scaled"]) {
      const released = await stack.berth("lease", "release", name);
      expect(released.code, released.stderr).toBe(0);
    }
    await eventually(
      "every object of both leases gone",
      () => {
        const left = [
          ...k("get", "services").items.map((s) => `service/${s.metadata.name}`),
          ...k("get", "deployments").items.map((d) => `deployment/${d.metadata.name}`),
          ...k("get", "pods").items.map((p) => `pod/${p.metadata.name}`),
          ...k("get", "configmaps", "-l", "berth.dev/managed-by").items.map((c) => `configmap/${c.metadata.name}`),
        ];
        return left.length === 0 ? true : undefined;
      },
      60_000,
      500,
    );
  }, 170_000);
});
