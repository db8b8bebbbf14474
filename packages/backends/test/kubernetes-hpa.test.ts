// The `hpa` mode of the Kubernetes backend: the BerthServer scale target (a custom resource with
// /scale) and the lease's HorizontalPodAutoscaler on it. Pure objects validate against the
// Kubernetes OpenAPI schemas (v2 and v2beta2 HPAs alike); on the real v1.20 cluster the HPA is
// made in the version discovery shows (v2beta2), targets the server's BerthServer, and the HPA
// controller itself drives the BerthServer's /scale (it enforces the HPA's bounds even without
// a metrics API, which the test cluster lacks), which is the count the backend hands berthd.
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { Effect, Either, Schedule, type Scope } from "effect";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import { HorizontalPodAutoscaler as HpaV2 } from "kubernetes-models/autoscaling/v2";
import { HorizontalPodAutoscaler as HpaV2beta2 } from "kubernetes-models/autoscaling/v2beta2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeKubernetesBackendConfig, type KubernetesBackendConfig, type KubernetesBackendOptions } from "../src/kubernetes/config.js";
import { type KubernetesBackendHandle, makeKubernetesBackend } from "../src/kubernetes/kubernetes-backend.js";
import { kubernetesLeaseRouting, leaseRoutingOf, targetQuantity } from "../src/kubernetes/lease-routing.js";
import { leaseHpa, leaseServiceName } from "../src/kubernetes/objects.js";
import {
  SCALE_TARGET_API_VERSION,
  SCALE_TARGET_GROUP,
  SCALE_TARGET_KIND,
  SCALE_TARGET_PLURAL,
  SCALE_TARGET_VERSION,
  scaleTarget,
  scaleTargetCrd,
  scaleTargetReplicas,
} from "../src/kubernetes/scale-target.js";
import type { BackendShape } from "../src/backend.js";
import { backendError } from "../src/errors.js";
import { retryingStart } from "../src/retrying-start.js";
import type { ServerSpec } from "../src/spec.js";
import { adminClient, cluster, deleteNamespace, freshNamespace, IMAGE, mustRun, NODE } from "./kubernetes-cluster.js";

const config = (more: Record<string, unknown> = {}): KubernetesBackendConfig => {
  const decoded = decodeKubernetesBackendConfig({ namespace: "berth", ...more });
  if (Either.isLeft(decoded)) throw new Error(decoded.left.join("; "));
  return decoded.right;
};
const owner = { apiVersion: "v1", kind: "ConfigMap", name: "berth-server-s1", uid: "0b0e3f2c-5d64-4c4b-9b2e-7d0c0f7f3a11" };
const lease = { leaseName: "resnet", serverId: "s1", metric: "queue_time", target: 200, minReplicas: 1, maxReplicas: 4 };

describe("hpa mode: generated objects", () => {
  it("the BerthServer CRD validates and gives the kind a /scale subresource on spec.replicas", () => {
    const crd = scaleTargetCrd();
    new CustomResourceDefinition(crd as never).validate();
    const version = (crd.spec as { versions: { name: string; subresources: { scale: Record<string, string> } }[] }).versions[0]!;
    expect(version.name).toBe(SCALE_TARGET_VERSION);
    expect(version.subresources.scale).toEqual({ specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" });
  });

  it("a BerthServer carries spec.replicas only when made (the HPA owns it afterwards) and selects the server's pods", () => {
    const made = scaleTarget("s1", 2, owner, config(), true);
    expect(made).toMatchObject({ apiVersion: SCALE_TARGET_API_VERSION, kind: SCALE_TARGET_KIND, spec: { replicas: 2 }, status: { replicas: 2, selector: "berth.dev/server-id=s1" } });
    expect(scaleTargetReplicas(made)).toBe(2);
    const status = scaleTarget("s1", 3, owner, config(), false);
    expect(status.spec).toBeUndefined();
    expect(status.status).toEqual({ replicas: 3, selector: "berth.dev/server-id=s1" });
    expect(scaleTargetReplicas({ spec: { replicas: "3" } })).toBeUndefined();
  });

  it("the HPA on a BerthServer validates as autoscaling/v2 and v2beta2", () => {
    const autoscaling = {
      leaseName: lease.leaseName,
      target: { apiVersion: SCALE_TARGET_API_VERSION, kind: SCALE_TARGET_KIND, name: "s1" },
      metric: `berth_${lease.metric}`,
      targetAverageValue: targetQuantity(lease.target),
      minReplicas: 1,
      maxReplicas: 4,
    };
    new HpaV2(leaseHpa("autoscaling/v2", autoscaling, owner, config()) as never).validate();
    new HpaV2beta2(leaseHpa("autoscaling/v2beta2", autoscaling, owner, config()) as never).validate();
    expect(targetQuantity(200)).toBe("200");
    expect(targetQuantity(0.25)).toBe("250m");
  });

  it("config: hpa is the default mode, builtin on request; the generic face says so", () => {
    expect(config().autoscaling).toBe("hpa");
    expect(config({ autoscaling: "builtin" }).autoscaling).toBe("builtin");
    expect(Either.isLeft(decodeKubernetesBackendConfig({ autoscaling: "keda" }))).toBe(true);
    const routing = kubernetesLeaseRouting({ client: undefined as never, config: config(), ownerOf: () => Effect.succeed(owner) });
    expect(leaseRoutingOf(routing, config()).autoscaler?.defaultMode).toBe("hpa");
    expect(leaseRoutingOf(routing, config({ autoscaling: "builtin" })).autoscaler?.defaultMode).toBe("builtin");
  });
});

describe("hpa mode: the autoscaler survives the retrying start's wrapper", () => {
  it("forwards the started backend's autoscaler, with the configured default mode", async () => {
    const calls: string[] = [];
    const started = {
      name: "kubernetes",
      capabilities: { gpus: true, images: "registry", adoption: true, nodes: "many" },
      leaseRouting: {
        autoscaling: "builtin",
        autoscaler: {
          defaultMode: "hpa",
          ensureLeaseAutoscaler: (spec: { leaseName: string }) => Effect.sync(() => void calls.push(`ensure ${spec.leaseName}`)),
          syncScaleTarget: (serverId: string, replicas: number) => Effect.sync(() => (calls.push(`sync ${serverId} ${replicas}`), 3)),
          deleteLeaseAutoscaler: (lease: string) => Effect.sync(() => void calls.push(`delete ${lease}`)),
        },
      },
    } as unknown as BackendShape;
    // The first start fails as Unavailable (a cluster away): the wrapper stands in until a retry starts it.
    const startAfterOneFailure = () => {
      let tries = 0;
      return Effect.suspend(() => (tries++ === 0 ? Effect.fail(backendError("kubernetes", { _tag: "Unavailable", message: "away" })) : Effect.succeed(started)));
    };
    const options = { name: "kubernetes", capabilities: started.capabilities, leaseRouting: true, schedule: Schedule.spaced("10 millis") };
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const wrapped = yield* retryingStart(startAfterOneFailure(), { ...options, autoscalerDefaultMode: "hpa" });
          expect(wrapped).not.toBe(started);
          const autoscaler = wrapped.leaseRouting!.autoscaler!;
          expect(autoscaler.defaultMode).toBe("hpa");
          const ensure = autoscaler.ensureLeaseAutoscaler({ ...lease, serverId: "s" }, 1);
          yield* Effect.retry(ensure, Schedule.spaced("10 millis").pipe(Schedule.upTo("2 seconds")));
          expect(yield* autoscaler.syncScaleTarget("s", 2)).toBe(3);
          yield* autoscaler.deleteLeaseAutoscaler("resnet");
          // Without a default mode the wrapper offers none (docker, process).
          expect((yield* retryingStart(startAfterOneFailure(), options)).leaseRouting!.autoscaler).toBeUndefined();
        }),
      ),
    );
    expect(calls).toEqual(["ensure resnet", "sync s 2", "delete resnet"]);
  });
});

const state = cluster();
const run = state.up || mustRun();

const spec = (serverId: string): ServerSpec => ({
  serverId,
  image: IMAGE,
  group: "onnxruntime",
  node: NODE,
  gpus: [],
  resources: { gpuMemory: 0, gpus: 0, gpuMilli: 0, cpu: 100, memory: 0, gpuModels: [] },
  replicas: 1,
  labels: { "berth.dev/test": "kubernetes-hpa" },
});

describe.runIf(run)("hpa mode on a real cluster", () => {
  if (!state.up) {
    it("has a cluster", () => {
      throw new Error(state.reason);
    });
    return;
  }
  const kubeconfig = state.kubeconfig;
  const admin = adminClient(kubeconfig);
  let namespace = "";
  beforeAll(async () => {
    namespace = await freshNamespace(admin, "berth-hpa");
  }, 60_000);
  afterAll(async () => {
    await deleteNamespace(admin, namespace);
  });

  const options = (): KubernetesBackendOptions => ({
    kubeconfig,
    namespace,
    network: "host",
    endpointHost: "127.0.0.1",
    hostPorts: { first: 31700, last: 31799 },
    imagePullPolicy: "Never",
    serverCommand: ["berth-model-server"],
    retryBaseMs: 50,
  });
  const withBackend = <A>(body: (h: KubernetesBackendHandle) => Effect.Effect<A, unknown, Scope.Scope>) => {
    const decoded = decodeKubernetesBackendConfig(options());
    if (Either.isLeft(decoded)) throw new Error(decoded.left.join("; "));
    return Effect.runPromise(Effect.scoped(Effect.flatMap(makeKubernetesBackend(decoded.right), body)) as Effect.Effect<A, unknown>);
  };
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const custom = kc.makeApiClient(CustomObjectsApi);
  /** Writes the BerthServer's /scale, as the HPA controller (or `kubectl scale`) does. */
  const scaleTo = (name: string, replicas: number) =>
    Effect.promise(async () => {
      const at = { group: SCALE_TARGET_GROUP, version: SCALE_TARGET_VERSION, namespace, plural: SCALE_TARGET_PLURAL, name };
      const current = (await custom.getNamespacedCustomObjectScale(at)) as { metadata: Record<string, unknown> };
      await custom.replaceNamespacedCustomObjectScale({ ...at, body: { apiVersion: "autoscaling/v1", kind: "Scale", metadata: current.metadata, spec: { replicas } } });
    });

  it("makes the lease's v2beta2 HPA on the server's BerthServer, reads back what the HPA controller writes to /scale, and reports the server's count", async () => {
    await withBackend((h) =>
      Effect.gen(function* () {
        const routing = kubernetesLeaseRouting(h);
        const autoscaler = leaseRoutingOf(routing, h.config).autoscaler!;
        const id = "hpa-s1";
        yield* h.backend.ensureServer(spec(id));
        const version = yield* routing.ensureHpa({ ...lease, serverId: id }, 1);
        expect(version).toBe("autoscaling/v2beta2");

        const hpa = (yield* admin.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", namespace, leaseServiceName("resnet")))!;
        new HpaV2beta2(hpa as never).validate();
        expect(hpa.spec).toMatchObject({
          scaleTargetRef: { apiVersion: SCALE_TARGET_API_VERSION, kind: SCALE_TARGET_KIND, name: id },
          minReplicas: 1,
          maxReplicas: 4,
          metrics: [{ type: "Pods", pods: { metric: { name: "berth_queue_time" }, target: { type: "AverageValue", averageValue: "200" } } }],
        });
        const target = (yield* admin.get(SCALE_TARGET_API_VERSION, SCALE_TARGET_KIND, namespace, id))!;
        expect(target).toMatchObject({ spec: { replicas: 1 }, status: { replicas: 1, selector: `berth.dev/server-id=${id}` } });
        expect((target.metadata as { ownerReferences: { name: string }[] }).ownerReferences[0]!.name).toBe(`berth-server-${id}`);

        // Ensuring again (every refresh) keeps what the HPA decided: spec.replicas is not taken back.
        yield* scaleTo(id, 3);
        yield* autoscaler.ensureLeaseAutoscaler({ ...lease, serverId: id }, 1);
        expect(yield* autoscaler.syncScaleTarget(id, 1)).toBe(3);
        // berthd followed (the core placed 3 replicas): the count reached goes to status.replicas.
        expect(yield* autoscaler.syncScaleTarget(id, 3)).toBe(3);
        expect((yield* admin.get(SCALE_TARGET_API_VERSION, SCALE_TARGET_KIND, namespace, id))!.status).toMatchObject({ replicas: 3 });

        // The HPA controller drives the BerthServer: above maxReplicas it scales /scale back to 4
        // (bounds need no metrics; the cluster has no metrics API for the metric itself).
        yield* scaleTo(id, 7);
        let seen: number | undefined;
        for (let i = 0; i < 90 && seen !== 4; i++) {
          yield* Effect.sleep("1 second");
          seen = yield* autoscaler.syncScaleTarget(id, 3);
        }
        expect(seen).toBe(4);
        const status = (yield* admin.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", namespace, leaseServiceName("resnet")))!.status as { desiredReplicas?: number };
        expect(status.desiredReplicas).toBe(4);

        yield* autoscaler.deleteLeaseAutoscaler("resnet");
        expect(yield* admin.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", namespace, leaseServiceName("resnet"))).toBeUndefined();
        // The server's deletion takes its BerthServer with it (owned by the record).
        yield* h.backend.deleteServer(id);
        let gone = false;
        for (let i = 0; i < 60 && !gone; i++) {
          gone = (yield* admin.get(SCALE_TARGET_API_VERSION, SCALE_TARGET_KIND, namespace, id)) === undefined;
          if (!gone) yield* Effect.sleep("500 millis");
        }
        expect(gone).toBe(true);
      }),
    );
  }, 180_000);
});
