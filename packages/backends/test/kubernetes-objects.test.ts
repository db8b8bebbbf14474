// The Kubernetes backend's pure parts, no cluster: every object it generates validates against
// the Kubernetes OpenAPI schemas (kubernetes-models' validators, v2 and v2beta2 HPAs alike),
// names and labels are ones the API server accepts, host ports never collide, pod statuses map
// to replica states, and the leader-election decision.
import fc from "fast-check";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler as HpaV2 } from "kubernetes-models/autoscaling/v2";
import { HorizontalPodAutoscaler as HpaV2beta2 } from "kubernetes-models/autoscaling/v2beta2";
import { Lease } from "kubernetes-models/coordination.k8s.io/v1";
import { Effect, Either, Exit } from "effect";
import { KubeApiError, kubeRetrySchedule } from "../src/kubernetes/kube-client.js";
import { describe, expect, it } from "vitest";
import { decodeKubernetesBackendConfig, type KubernetesBackendConfig } from "../src/kubernetes/config.js";
import { decideElection, leaseObject, observe } from "../src/kubernetes/leader-election.js";
import { berthdElectionOptions } from "../src/kubernetes/berthd-election.js";
import {
  chooseHpaVersion,
  defaultServerCommand,
  deploymentName,
  leaseHpa,
  leaseLabel,
  leaseService,
  leaseServiceName,
  recordName,
  replicaDeployment,
  serverRecord,
  sidecarSecret,
  sidecarSecretName,
  withoutSidecarToken,
  withSidecarToken,
  type HostPorts,
} from "../src/kubernetes/objects.js";
import { decodeDeployment, decodePod, decodeRecord, observeReplica, type ReplicaPod } from "../src/kubernetes/observe.js";
import { allocatePortBlock, parseHostPorts } from "../src/kubernetes/ports.js";
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, type ServerSpec, sidecarEnvironment } from "../src/spec.js";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const config = (more: Record<string, unknown> = {}): KubernetesBackendConfig => {
  const decoded = decodeKubernetesBackendConfig({ namespace: "berth", ...more });
  if (Either.isLeft(decoded)) throw new Error(decoded.left.join("; "));
  return decoded.right;
};
const owner = { apiVersion: "v1", kind: "ConfigMap", name: "berth-server-x", uid: "0d4e7c1e-0000-4000-8000-000000000001" };

const serverId = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/);
const specArb: fc.Arbitrary<ServerSpec> = fc.record({
  serverId,
  image: fc.constantFrom("nvcr.io/nvidia/tritonserver:24.08-py3", "localhost/berth:dev"),
  group: fc.constantFrom("onnxruntime", "pytorch_libtorch", "tensorrt_plan", "not a label value!"),
  node: fc.constantFrom("gpu-node-1", "berth-node"),
  gpus: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 4 }),
  resources: fc.record({
    gpuMemory: fc.nat(),
    gpus: fc.nat({ max: 8 }),
    gpuMilli: fc.nat({ max: 8000 }),
    cpu: fc.nat({ max: 64_000 }),
    memory: fc.nat({ max: 2 ** 40 }),
    gpuModels: fc.array(fc.constantFrom("NVIDIA-A100-SXM4-80GB", "Tesla-T4"), { maxLength: 2 }),
  }),
  replicas: fc.integer({ min: 1, max: 4 }),
  labels: fc.dictionary(fc.constantFrom("team", "example.com/tier"), fc.constantFrom("a", "b-1", "")),
  sidecar: fc.option(
    fc.record({
      berthd: fc.constant("berthd.berth.svc:50051"),
      repositories: fc.constant([{ name: "models", location: "s3://bucket/models" }]),
      cache: fc.constant("/var/cache/berth-models"),
      token: fc.option(fc.stringMatching(/^bst1\.[a-z0-9-]{1,20}\.[A-Za-z0-9_-]{8,43}$/), { nil: undefined }),
      berthdCa: fc.option(fc.constant("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), { nil: undefined }),
      berthdServerName: fc.option(fc.constant("berthd-cert-name.example"), { nil: undefined }),
    }).map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as unknown as NonNullable<ServerSpec["sidecar"]>),
    { nil: undefined },
  ),
}).map((s) => (s.sidecar === undefined ? (({ sidecar: _, ...rest }) => rest)(s) : s) as ServerSpec);

function labelsAreValid(labels: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    expect(LABEL_KEY_PATTERN.test(k), `label key ${k}`).toBe(true);
    expect(LABEL_VALUE_PATTERN.test(v) && v.length <= 63, `label ${k}=${v}`).toBe(true);
  }
}

describe("generated objects validate against the Kubernetes OpenAPI schemas", () => {
  it("replica Deployments (pod and host network, with and without a sidecar) and server records", () => {
    fc.assert(
      fc.property(specArb, fc.constantFrom("pod", "host"), fc.integer({ min: 0, max: 3 }), (spec, network, index) => {
        const c = config({ network, endpointHost: network === "host" ? "127.0.0.1" : undefined });
        const ports: HostPorts = { http: 31000, grpc: 31001, metrics: 31002 };
        const raw = replicaDeployment(spec, index, c, owner, ports);
        new Deployment(raw as never).validate();
        const meta = raw.metadata as { name: string; labels: Record<string, string> };
        expect(meta.name).toMatch(DNS1123_SUBDOMAIN);
        labelsAreValid(meta.labels);
        const template = (raw.spec as { template: { spec: Record<string, unknown> } }).template.spec;
        expect(template.hostNetwork === true).toBe(network === "host");
        const containers = template.containers as { name: string; ports?: { hostPort?: number }[]; resources?: { limits?: Record<string, string> } }[];
        expect(containers.map((x) => x.name)).toEqual(spec.sidecar === undefined ? ["server"] : ["server", "sidecar"]);
        if (network === "host") expect(containers[0].ports?.map((p) => p.hostPort)).toEqual([31000, 31001, 31002]);
        const gpus = (spec.placements?.[index]?.gpus ?? spec.gpus).length || spec.resources.gpus;
        expect(containers[0].resources?.limits?.["nvidia.com/gpu"]).toBe(gpus > 0 ? String(gpus) : undefined);
        // The decoder reads back what the builder wrote.
        const decoded = decodeDeployment(raw);
        expect(decoded?.serverId).toBe(spec.serverId);
        expect(decoded?.index).toBe(index);
        if (network === "host") expect(decoded?.hostPorts).toEqual(ports);
        const record = serverRecord(spec, c);
        new ConfigMap(record as never).validate();
        expect(recordName(spec.serverId)).toMatch(DNS1123_SUBDOMAIN);
        // The record keeps everything but the sidecar's token, which its Secret holds (and gives back).
        expect(JSON.stringify(record)).not.toContain(`"token"`);
        const recorded = decodeRecord({ ...record, metadata: { ...record.metadata, uid: "u" } })?.spec;
        expect(recorded).toEqual(withoutSidecarToken(spec));
        const secret = sidecarSecret(spec, c, owner);
        expect(withSidecarToken(recorded!, secret)).toEqual(spec);
        const credentials = spec.sidecar === undefined ? {} : sidecarEnvironment(spec.sidecar);
        if (secret === undefined) expect(credentials).toEqual({});
        else {
          new Secret(secret as never).validate();
          expect(secret.metadata.name).toMatch(DNS1123_SUBDOMAIN);
          expect(secret.metadata.name.length).toBeLessThanOrEqual(253);
          labelsAreValid(secret.metadata.labels as Record<string, string>);
        }
        // The sidecar reads every credential from the Secret; the pod spec carries no value of any.
        const env = (containers[1] as { env?: { name: string; value?: string; valueFrom?: unknown }[] } | undefined)?.env ?? [];
        expect(env.map((e) => e.name).sort()).toEqual(Object.keys(credentials).sort());
        for (const e of env) expect(e).toEqual({ name: e.name, valueFrom: { secretKeyRef: { name: sidecarSecretName(spec.serverId), key: e.name } } });
        for (const value of Object.values(credentials)) expect(JSON.stringify(raw)).not.toContain(JSON.stringify(value).slice(1, -1));
      }),
      { numRuns: 150 },
    );
  });

  it("lease Services: a DNS-1035 name for any lease name, selecting the lease's pod label", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,50}[a-z0-9])?$/), (lease) => {
        const raw = leaseService(lease, [owner, { ...owner, name: "berth-server-y", uid: "0d4e7c1e-0000-4000-8000-000000000002" }], config());
        new Service(raw as never).validate();
        expect(leaseServiceName(lease)).toMatch(DNS1035_LABEL);
        expect(LABEL_KEY_PATTERN.test(leaseLabel(lease))).toBe(true);
        labelsAreValid(raw.metadata.labels as Record<string, string>);
        expect((raw.spec as { selector: Record<string, string> }).selector).toEqual({ [leaseLabel(lease)]: "loaded" });
      }),
    );
  });

  it("HPAs in autoscaling/v2 and v2beta2, the version picked from what discovery serves", () => {
    const autoscaling = {
      leaseName: "resnet",
      target: { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName("resnet-srv", 0) },
      metric: "nv_inference_queue_duration_us",
      targetAverageValue: "200m",
      minReplicas: 1,
      maxReplicas: 4,
    };
    new HpaV2(leaseHpa("autoscaling/v2", autoscaling, owner, config()) as never).validate();
    new HpaV2beta2(leaseHpa("autoscaling/v2beta2", autoscaling, owner, config()) as never).validate();
    expect(chooseHpaVersion(["v1", "v2beta1", "v2beta2"])).toBe("autoscaling/v2beta2");
    expect(chooseHpaVersion(["v1", "v2", "v2beta2"])).toBe("autoscaling/v2");
    expect(chooseHpaVersion(["v1"])).toBeUndefined();
    // The validators do catch a wrong object: v2beta2 has no `behavior.scaleUp.policies[].type` of this kind.
    expect(() => new HpaV2({ ...leaseHpa("autoscaling/v2", autoscaling, owner, config()), spec: { maxReplicas: "four" } } as never).validate()).toThrow();
  });

  it("leader-election Leases", () => {
    const raw = leaseObject({ namespace: "berth", name: "berthd", identity: "a", leaseDurationSeconds: 15, retryPeriodMs: 2000 }, { holder: "a", leaseDurationSeconds: 15, acquireTime: 1_700_000_000_123, renewTime: 1_700_000_000_456, transitions: 2 });
    new Lease(raw as never).validate();
    expect(raw.spec.renewTime).toBe("2023-11-14T22:13:20.456000Z");
  });
});

describe("host ports", () => {
  it("allocated blocks never overlap ports in use and stay in range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1024, max: 60_000 }), fc.integer({ min: 3, max: 60 }), fc.uniqueArray(fc.integer({ min: 1024, max: 60_100 }), { maxLength: 40 }), (first, size, used) => {
        const range = { first, last: first + size - 1 };
        const block = allocatePortBlock(range, new Set(used));
        const freeBlocks = Array.from({ length: Math.floor(size / 3) }, (_, i) => first + 3 * i).filter((b) => ![b, b + 1, b + 2].some((p) => used.includes(p)));
        if (block === undefined) expect(freeBlocks).toEqual([]);
        else {
          expect(block.http).toBe(freeBlocks[0]);
          expect([block.http, block.grpc, block.metrics].some((p) => used.includes(p) || p > range.last)).toBe(false);
          expect(parseHostPorts(`${block.http},${block.grpc},${block.metrics}`)).toEqual(block);
        }
      }),
    );
    expect(parseHostPorts("1,2")).toBeUndefined();
    expect(parseHostPorts("1,2,70000")).toBeUndefined();
  });
});

describe("replica states from pod status", () => {
  const spec: ServerSpec = {
    serverId: "s",
    image: "i",
    group: "g",
    node: "n",
    gpus: [],
    resources: { gpuMemory: 0, gpus: 0, gpuMilli: 0, cpu: 0, memory: 0, gpuModels: [] },
    replicas: 1,
    labels: {},
  };
  const settings = { network: "host" as const, endpointHost: "127.0.0.1", failAfterRestarts: 3 };
  const pod = (status: Record<string, unknown>, deleting = false): ReplicaPod =>
    decodePod({
      metadata: { name: "s-0-abc", uid: "u", labels: { "berth.dev/server-id": "s", "berth.dev/replica": "0" }, ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
      status,
    })!;
  const deployment = decodeDeployment({ metadata: { name: "s-0", labels: { "berth.dev/server-id": "s", "berth.dev/replica": "0" }, annotations: { "berth.dev/host-ports": "31000,31001,31002" } } });
  const server = (s: Record<string, unknown>) => ({ name: "server", ready: false, restartCount: 0, ...s });

  it("Starting, Ready, Down after a crash, Failed after too many restarts or an image that is not there", () => {
    expect(observeReplica(spec, 0, deployment, undefined, 0, settings).state).toBe("Starting");
    const ready = observeReplica(spec, 0, deployment, pod({ conditions: [{ type: "Ready", status: "True" }], containerStatuses: [server({ ready: true })] }), 0, settings);
    expect(ready.state).toBe("Ready");
    expect(ready.endpoints).toEqual({ http: "127.0.0.1:31000", grpc: "127.0.0.1:31001", metrics: "127.0.0.1:31002" });
    const crashed = observeReplica(
      spec,
      0,
      deployment,
      pod({ conditions: [{ type: "Ready", status: "False" }], containerStatuses: [server({ restartCount: 1, lastState: { terminated: { exitCode: 137, reason: "Error", message: "the end of the log" } } })] }),
      0,
      settings,
    );
    expect(crashed.state).toBe("Down");
    expect(crashed.restarts).toBe(1);
    expect(crashed.lastError).toMatchObject({ reason: "Crashed", exitCode: 137, logTail: "the end of the log" });
    const gaveUp = observeReplica(spec, 0, deployment, pod({ containerStatuses: [server({ restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 3, message: "boom" } } })] }), 0, settings);
    expect(gaveUp.state).toBe("Failed");
    expect(gaveUp.lastError).toMatchObject({ reason: "StartFailed", logTail: "boom", exitCode: 3 });
    const noImage = observeReplica(spec, 0, deployment, pod({ containerStatuses: [server({ state: { waiting: { reason: "ErrImageNeverPull", message: 'Container image "x" is not present with pull policy of Never' } } })] }), 0, settings);
    expect(noImage.state).toBe("Failed");
    expect(noImage.lastError?.logTail).toContain("not present");
    const replacedPod = observeReplica(spec, 0, deployment, pod({ containerStatuses: [server({})] }), 1, settings);
    expect(replacedPod).toMatchObject({ state: "Down", restarts: 1, lastError: { reason: "Crashed" } });
    expect(observeReplica(spec, 0, deployment, pod({ conditions: [{ type: "Ready", status: "True" }] }, true), 0, settings).state).toBe("Down");
  });
});

describe("leader election decisions", () => {
  const d = 15;
  it("creates, renews its own, follows a live holder, takes over only after the lease expired by its own clock", () => {
    expect(decideElection(undefined, "a", 1000, d)._tag).toBe("Create");
    const held = observe(undefined, { holder: "b", leaseDurationSeconds: d, renewTime: 5, transitions: 0 }, 1000);
    expect(decideElection(held, "a", 1000 + 14_999, d)).toEqual({ _tag: "Follow", holder: "b", expiresAt: 16_000 });
    const takeover = decideElection(held, "a", 16_000, d);
    expect(takeover).toMatchObject({ _tag: "TakeOver", from: "b", lease: { holder: "a", transitions: 1 } });
    // A renewal seen later restarts the expiry from when it was seen.
    const renewed = observe(held, { ...held.lease, renewTime: 6 }, 10_000);
    expect(decideElection(renewed, "a", 16_000, d)._tag).toBe("Follow");
    // The same record read again does not move the clock.
    expect(observe(renewed, renewed.lease, 20_000).changedAt).toBe(10_000);
    expect(decideElection(observe(undefined, { holder: "a", leaseDurationSeconds: d, transitions: 4 }, 0), "a", 1, d)).toMatchObject({ _tag: "Renew", lease: { transitions: 4, renewTime: 1 } });
    expect(decideElection(observe(undefined, { holder: "", leaseDurationSeconds: d, transitions: 4 }, 0), "a", 1, d)._tag).toBe("TakeOver");
  });

  it("property: at any instant, at most one of many candidates with the same view decides to lead", () => {
    fc.assert(
      fc.property(fc.option(fc.record({ holder: fc.constantFrom("", "a", "b", "c"), seenAt: fc.nat(100_000) }), { nil: undefined }), fc.nat(200_000), (state, now) => {
        const view = state === undefined ? undefined : observe(undefined, { holder: state.holder, leaseDurationSeconds: d, transitions: 0 }, state.seenAt);
        const leaders = ["a", "b", "c"].filter((c) => decideElection(view, c, Math.max(now, state?.seenAt ?? 0), d)._tag !== "Follow");
        // Several may try (an expired or absent Lease); the API server's optimistic concurrency picks one.
        if (view !== undefined && view.lease.holder !== "" && Math.max(now, state!.seenAt) < view.changedAt + d * 1000) expect(leaders).toEqual([view.lease.holder]);
      }),
    );
  });
});

describe("API calls are retried on conflicts, throttling, 5xx and lost connections, and only then", () => {
  const failing = (statuses: number[]) => {
    let calls = 0;
    const effect = Effect.suspend(() => {
      const status = statuses[calls++];
      return status === undefined ? Effect.succeed(calls) : Effect.fail(new KubeApiError({ operation: "apply", status, reason: "", message: "" }));
    });
    return { effect, calls: () => calls };
  };
  it("succeeds after 409, 429, 503 and no answer; gives up at once on 404 or 422; stops after `times` retries", async () => {
    const retried = failing([409, 429, 503, 0]);
    expect(await Effect.runPromise(Effect.retry(retried.effect, kubeRetrySchedule(1, 6)))).toBe(5);
    const notFound = failing([404]);
    expect(Exit.isFailure(await Effect.runPromiseExit(Effect.retry(notFound.effect, kubeRetrySchedule(1, 6))))).toBe(true);
    expect(notFound.calls()).toBe(1);
    const invalid = failing([409, 422]);
    expect(Exit.isFailure(await Effect.runPromiseExit(Effect.retry(invalid.effect, kubeRetrySchedule(1, 6))))).toBe(true);
    expect(invalid.calls()).toBe(2);
    const endless = failing(Array.from({ length: 20 }, () => 500));
    expect(Exit.isFailure(await Effect.runPromiseExit(Effect.retry(endless.effect, kubeRetrySchedule(1, 3))))).toBe(true);
    expect(endless.calls()).toBe(4);
  });
});

describe("what the pods of a berthd-made server need", () => {
  const spec: ServerSpec = {
    serverId: "srv-1",
    image: "localhost/berth:dev",
    group: "onnxruntime",
    node: "local",
    gpus: [0],
    resources: { gpuMemory: 0, gpus: 0, gpuMilli: 0, cpu: 100, memory: 512 * 2 ** 20, gpuModels: [] },
    replicas: 1,
    labels: {},
    sidecar: { berthd: "127.0.0.1:5000", repositories: [{ name: "demo", location: "/state/repositories/demo" }, { name: "hub", location: "https://models.example.com" }], cache: "/state/cache" },
  };
  type Pod = { containers: { name: string; command: string[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[]; resources: { limits?: Record<string, string> } }[]; volumes: { name: string; hostPath?: { path: string } }[] };
  const podOf = (c: KubernetesBackendConfig, s: ServerSpec = spec) => (replicaDeployment(s, 0, c, owner, { http: 32000, grpc: 32001, metrics: 32002 }).spec as { template: { spec: Pod } }).template.spec;

  it("the server reads the sidecar's cache at the same path (its links resolve); directory repositories come from the node; URL ones do not", () => {
    const pod = podOf(config({ network: "host" }));
    const [server, sidecar] = pod.containers;
    expect(server!.volumeMounts).toContainEqual({ name: "model-cache", mountPath: "/var/cache/berth", readOnly: true });
    expect(sidecar!.volumeMounts.find((m) => m.name === "model-cache")?.mountPath).toBe("/var/cache/berth");
    expect(sidecar!.volumeMounts).toContainEqual({ name: "repository-0", mountPath: "/state/repositories/demo", readOnly: true });
    expect(pod.volumes.map((v) => [v.name, v.hostPath?.path])).toEqual([
      ["models", undefined],
      ["model-cache", "/state/cache"],
      ["repository-0", "/state/repositories/demo"],
    ]);
    new Deployment(replicaDeployment(spec, 0, config({ network: "host" }), owner, { http: 32000, grpc: 32001, metrics: 32002 }) as never).validate();
    expect(podOf(config({ mountHostRepositories: false })).volumes.map((v) => v.name)).toEqual(["models", "model-cache"]);
    type Args = { containers: { args: string[] }[] };
    const berthdArg = (c: KubernetesBackendConfig) => {
      const args = (podOf(c) as unknown as Args).containers[1]!.args;
      return args[args.indexOf("--berthd") + 1];
    };
    expect(berthdArg(config())).toBe("127.0.0.1:5000");
    expect(berthdArg(config({ sidecarBerthd: "berthd.berth.svc:50051" }))).toBe("berthd.berth.svc:50051");
  });

  it("hands the sidecar berthd's credentials in its environment from the server's Secret, never as values or arguments", () => {
    type Sidecar = { args: string[]; env?: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[] };
    const c = config({ network: "host" });
    const sidecarOf = (s: ServerSpec) => (podOf(c, s) as unknown as { containers: Sidecar[] }).containers[1]!;
    const annotationsOf = (s: ServerSpec) => (replicaDeployment(s, 0, c, owner, { http: 32000, grpc: 32001, metrics: 32002 }).spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    // No auth, no TLS: no env, no Secret.
    expect(sidecarOf(spec).env).toBeUndefined();
    expect(sidecarSecret(spec, c, owner)).toBeUndefined();
    expect(annotationsOf(spec)).not.toHaveProperty("berth.dev/sidecar-credentials");
    const withToken: ServerSpec = { ...spec, sidecar: { ...spec.sidecar!, token: "bst1.srv-1.secret", berthdCa: "-----BEGIN CERTIFICATE-----" } };
    const sidecar = sidecarOf(withToken);
    const ref = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: "berth-sidecar-srv-1", key } } });
    expect(sidecar.env).toEqual([ref("BERTH_SIDECAR_TOKEN"), ref("BERTH_SIDECAR_BERTHD_CA_PEM")]);
    expect(sidecar.args.join(" ")).not.toContain("bst1.srv-1.secret");
    const deployment = replicaDeployment(withToken, 0, c, owner, { http: 32000, grpc: 32001, metrics: 32002 });
    expect(JSON.stringify(deployment)).not.toContain("bst1.srv-1.secret");
    // The Secret holds exactly the sidecar's environment, owned like the Deployments (collected with the record).
    const secret = sidecarSecret(withToken, c, owner)!;
    expect(secret).toMatchObject({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name: "berth-sidecar-srv-1", namespace: "berth" } });
    expect(secret.metadata.ownerReferences).toEqual(deployment.metadata.ownerReferences);
    expect(secret.metadata.labels).toEqual(expect.objectContaining({ "berth.dev/server-id": "srv-1", "app.kubernetes.io/instance": "srv-1" }));
    const data = secret.data as Record<string, string>;
    expect(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]))).toEqual(sidecarEnvironment(withToken.sidecar!));
    // New credentials change the pod template (a pod reads a Secret only when it starts), the same ones do not.
    const digest = annotationsOf(withToken)["berth.dev/sidecar-credentials"];
    expect(digest).toMatch(/^[0-9a-f]{32}$/);
    expect(annotationsOf(withToken)["berth.dev/sidecar-credentials"]).toBe(digest);
    expect(annotationsOf({ ...withToken, sidecar: { ...withToken.sidecar!, token: "bst1.srv-1.other" } })["berth.dev/sidecar-credentials"]).not.toBe(digest);
    // The Deployment's own metadata stays as it was (observers read its annotations).
    expect(deployment.metadata.annotations).not.toHaveProperty("berth.dev/sidecar-credentials");
  });

  it("GPU limits unless requestGpus is off; Berth's image runs its model server, others Triton", () => {
    expect(podOf(config()).containers[0]!.resources.limits).toMatchObject({ "nvidia.com/gpu": "1" });
    expect(podOf(config({ requestGpus: false })).containers[0]!.resources.limits).not.toHaveProperty("nvidia.com/gpu");
    expect(podOf(config()).containers[0]!.command).toEqual(["berth-model-server"]);
    expect(podOf(config(), { ...spec, image: "nvcr.io/nvidia/tritonserver:24.08-py3" }).containers[0]!.command).toEqual(["tritonserver"]);
    expect(podOf(config({ serverCommand: ["my-server", "--x"] })).containers[0]!.command).toEqual(["my-server", "--x"]);
    expect(["berth", "ghcr.io/org/berth:1.0", "localhost/berth:dev"].map((i) => defaultServerCommand(i)[0])).toEqual(["berth-model-server", "berth-model-server", "berth-model-server"]);
    expect(defaultServerCommand("localhost/berthx:dev")).toEqual(["tritonserver"]);
  });

  it("lease Services target the pods' named ports (each host-network replica has its own numbers)", () => {
    const ports = (leaseService("web", [owner], config({ network: "host" })).spec as { ports: { name: string; targetPort: unknown }[] }).ports;
    expect(ports.map((p) => [p.name, p.targetPort])).toEqual([
      ["http", "http"],
      ["grpc", "grpc"],
      ["metrics", "metrics"],
    ]);
  });

  it("berthd's leader election: none unless asked for; the pod's name and namespace by default", () => {
    expect(berthdElectionOptions(config(), {}, 1)).toBeUndefined();
    expect(berthdElectionOptions(config({ leaderElection: {} }), { POD_NAME: "berthd-7c9-x", POD_NAMESPACE: "berth-system" }, 1)).toEqual({
      name: "berthd",
      namespace: "berth-system",
      identity: "berthd-7c9-x",
      leaseDurationSeconds: 15,
      retryPeriodMs: 2000,
    });
    const own = berthdElectionOptions(config({ leaderElection: { name: "b", identity: "me", namespace: "ns", leaseDurationSeconds: 4, retryPeriodMs: 500 } }), { POD_NAME: "p" }, 1);
    expect(own).toMatchObject({ name: "b", identity: "me", namespace: "ns", leaseDurationSeconds: 4, retryPeriodMs: 500 });
    expect(berthdElectionOptions(config({ leaderElection: {} }), {}, 42)?.identity).toMatch(/-42$/);
    expect(Either.isLeft(decodeKubernetesBackendConfig({ leaderElection: { leaseDurationSeconds: 0 } }))).toBe(true);
  });
});
