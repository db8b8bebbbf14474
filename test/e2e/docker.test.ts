// berthd with the Docker backend, end to end against a real Docker engine and the image
// localhost/berth:dev (`npm start -- --backend docker`, the router fed from berthd): a lease
// makes a server container and a sidecar container (host network, the model volume, labels
// naming what Berth owns), inferences through the router return simple's sum and difference,
// with no traffic the lease expires and its containers go. Faults: `docker kill` of a server
// container (the lease is Ready again), berthd restarted with containers running (adopted, not
// duplicated), the engine unreachable (a clear error in the log, retries, the lease kept and
// served once the engine is back), a server that cannot start (the lease fails with the end of
// the server's log) and an image that cannot be pulled (the lease fails naming it). `npm start`
// stops its containers on Ctrl-C. berthd started while the engine is unreachable starts anyway
// (leases accepted and kept, /readyz saying why not ready, the engine named in the log) and
// converges once it answers, adopting what runs. Containers carry a backend instance unique to this run.
// Without an engine or the image this file is skipped, saying why; under CI it fails instead.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferSimple, until } from "./support/kserve.js";
import {
  berthdLog,
  containersOf,
  dockerKill,
  dockerUnavailable,
  type DockerStack,
  type EngineProxy,
  freePort,
  IMAGE,
  type InspectedContainer,
  removeInstance,
  startDockerStack,
  startEngineProxy,
  tempStateDir,
  testInstance,
} from "./support/docker-stack.js";

const unavailable = dockerUnavailable();
if (unavailable !== undefined) console.warn(`test/e2e/docker.test.ts skipped: ${unavailable}`);

const FAILING_IMAGE = "e2e-fails-to-start";
const FAILURE_MARK = "e2e: this server cannot open its model repository";
/** Not present, and no registry answers there: the pull fails at once. */
const MISSING_IMAGE = "localhost:1/berth/missing:none";

const labels = (c: InspectedContainer) => c.Config.Labels ?? {};
const ofServer = (instance: string, serverId: string) =>
  containersOf(instance)
    .filter((c) => labels(c)["berth.dev/server-id"] === serverId)
    .sort((a, b) => a.Name.localeCompare(b.Name));

/** Inferences through the router until one answers 200; its outputs must be simple's. */
async function expectInference(router: string, seed: number, timeoutMs = 30_000): Promise<void> {
  const answer = await until("an inference through the router", async () => {
    const a = await inferSimple(router, seed);
    return a.status === 200 ? a : undefined;
  }, timeoutMs);
  expect(answer.outputs.OUTPUT0).toEqual(answer.expected.sum);
  expect(answer.outputs.OUTPUT1).toEqual(answer.expected.difference);
}

describe.skipIf(unavailable !== undefined)("berthd with the Docker backend", () => {
  const instance = testInstance("e2e");
  let stateDir: string;
  let proxyDir: string;
  let proxy: EngineProxy;
  let listen: string;
  let stack: DockerStack;

  const start = ({ leaveContainers = true } = {}) =>
    startDockerStack({
      stateDir,
      listen,
      docker: {
        instance,
        socketPath: proxy.socketPath,
        pollIntervalMs: 300,
        readyTimeoutMs: 60_000,
        fastCrashWindowMs: 3000,
        maxFastCrashes: 3,
        stopGraceSeconds: 2,
        // The first berthd leaves its containers running for the restart to find; the second has
        // npm start's own default, which stops them with it (the last test).
        ...(leaveContainers ? { onClose: "leave" } : {}),
        images: { [FAILING_IMAGE]: { image: IMAGE, command: ["sh", "-c", `echo '${FAILURE_MARK}' >&2; exit 3`] } },
      },
      // keepWarm off: an expired lease is ended at once rather than kept warm.
      config: { placement: { keepWarm: false }, images: { allowlist: [FAILING_IMAGE, MISSING_IMAGE] } },
    });

  beforeAll(async () => {
    stateDir = tempStateDir();
    proxyDir = tempStateDir();
    proxy = await startEngineProxy(proxyDir);
    listen = `127.0.0.1:${await freePort()}`;
    stack = await start();
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
    removeInstance(instance, stateDir);
    if (proxyDir !== undefined) rmSync(proxyDir, { recursive: true, force: true });
  }, 60_000);

  it("a lease: server and sidecar containers up, inference through the router, then it expires and its containers go", async () => {
    const created = await stack.berth("lease", "create", "short", "-m", "simple", "--duration", "4s", "--activity-window", "2s", "--wait", "-o", "json");
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: "short", phase: "Ready" });
    const lease = await stack.client.lease.get({ name: "short" });
    const serverId = lease.placement!.serverId;

    // What the engine runs for it: one server and one sidecar, labelled as Berth's, on the host network.
    const [server, sidecar] = ofServer(instance, serverId);
    expect([server?.Name, sidecar?.Name]).toEqual([`/berth-${serverId}-0-server`, `/berth-${serverId}-0-sidecar`]);
    for (const c of [server!, sidecar!]) {
      expect(c.State.Running).toBe(true);
      expect(labels(c)).toMatchObject({
        "berth.dev/managed-by": "berth-docker-backend",
        "berth.dev/backend-instance": instance,
        "berth.dev/server-id": serverId,
        "berth.dev/replica": "0",
        "berth.dev/lease": lease.id,
      });
      expect(c.HostConfig.NetworkMode).toBe("host");
      expect(c.HostConfig.RestartPolicy.Name).toBe("on-failure");
    }
    expect(labels(server!)["berth.dev/role"]).toBe("server");
    expect(labels(sidecar!)["berth.dev/role"]).toBe("sidecar");
    // The model volume in both; the model cache (under berthd's state) in both, read-only in the
    // server; the demo repository, read-only, in the sidecar.
    const volume = `berth-${serverId}-0-models:/models`;
    const cache = `${stateDir}/cache`;
    expect(server!.HostConfig.Binds).toEqual([volume, `${cache}:${cache}:ro`]);
    expect(sidecar!.HostConfig.Binds).toEqual(expect.arrayContaining([volume, `${cache}:${cache}`]));
    expect(sidecar!.HostConfig.Binds!.some((b) => b.startsWith(stateDir) && b.endsWith(":ro") && !b.startsWith(cache))).toBe(true);
    // The replica listens where the lease says (host network: the port is the server's own flag).
    const port = lease.placement!.endpoints[0]!.split(":")[1]!;
    expect(server!.Config.Cmd).toContain(`--http-port=${port}`);

    await expectInference(stack.router, 3);

    // No traffic: the lease expires, its server is deleted, its containers are removed.
    const ended = await until("the lease to end", async () => {
      const l = await stack.client.lease.get({ name: "short" }).catch(() => undefined);
      return l === undefined || l.phase === "LEASE_PHASE_RELEASED" ? (l?.phase ?? "gone") : undefined;
    }, 30_000);
    expect(["LEASE_PHASE_RELEASED", "gone"]).toContain(ended);
    await until("the containers to be removed", () => (ofServer(instance, serverId).length === 0 ? true : undefined), 20_000);
    expect((await inferSimple(stack.router)).status).toBe(404);
  }, 90_000);

  it("a killed server container is restarted and the lease is Ready again, serving", async () => {
    const created = await stack.berth("lease", "create", "sturdy", "-m", "simple", "--duration", "5m", "--wait");
    expect(created.code, created.stderr).toBe(0);
    const before = await stack.client.lease.get({ name: "sturdy" });
    const serverId = before.placement!.serverId;
    await expectInference(stack.router, 5);
    const [server] = ofServer(instance, serverId);

    dockerKill(server!.Id);
    // berthd saw it down (the lease left Ready), then up again: the same container, restarted.
    await until("berthd to see the server down", () => (berthdLog(stateDir, "server observed").some((l) => l.serverId === serverId && l.state === "Down") ? true : undefined), 30_000);
    const after = await until("the lease to be Ready again", async () => {
      const l = await stack.client.lease.get({ name: "sturdy" });
      return l.phase === "LEASE_PHASE_READY" && l.placement?.readyReplicas === 1 ? l : undefined;
    }, 60_000);
    expect(after.placement?.serverId).toBe(serverId);
    const restarted = ofServer(instance, serverId);
    expect(restarted.map((c) => c.Id)).toContain(server!.Id);
    expect(restarted.find((c) => c.Id === server!.Id)!.State.StartedAt).not.toBe(server!.State.StartedAt);
    expect(restarted).toHaveLength(2);
    await expectInference(stack.router, 6, 60_000);
  }, 120_000);

  it("a restarted berthd adopts the running containers: the same ones, not duplicated, still serving", async () => {
    const lease = await stack.client.lease.get({ name: "sturdy" });
    const serverId = lease.placement!.serverId;
    const before = containersOf(instance);
    expect(before).toHaveLength(2);

    expect(await stack.stop()).toBe(0);
    // berthd is gone; its containers are not.
    const meanwhile = containersOf(instance);
    expect(meanwhile.map((c) => c.Id).sort()).toEqual(before.map((c) => c.Id).sort());
    expect(meanwhile.every((c) => c.State.Running)).toBe(true);

    stack = await start({ leaveContainers: false });
    const ready = await until("the lease to be Ready under the new berthd", async () => {
      const l = await stack.client.lease.get({ name: "sturdy" });
      return l.phase === "LEASE_PHASE_READY" && l.placement?.readyReplicas === 1 ? l : undefined;
    }, 30_000);
    expect(ready.placement?.serverId).toBe(serverId);
    await expectInference(stack.router, 7);
    // Adopted: the very same containers, never restarted, and no others.
    const after = containersOf(instance);
    expect(after.map((c) => c.Id).sort()).toEqual(before.map((c) => c.Id).sort());
    expect(after.map((c) => c.State.StartedAt).sort()).toEqual(before.map((c) => c.State.StartedAt).sort());
    expect(berthdLog(stateDir, "reconciled with the backend").at(-1)).toMatchObject({ backend: "docker", observed: 1, removed: 0 });
  }, 120_000);

  it("with the engine unreachable: a clear error in the log and retries; nothing lost, and the lease is served once the engine is back", async () => {
    await proxy.cut();
    // What runs goes on running and serving without the engine.
    await expectInference(stack.router, 8);
    expect((await stack.client.lease.get({ name: "sturdy" })).phase).toBe("LEASE_PHASE_READY");

    const created = await stack.berth("lease", "create", "later", "-m", "simple", "--duration", "5m");
    expect(created.code, created.stderr).toBe(0);
    await until("the error in berthd's output", () => (stack.output().includes(`Docker engine at ${proxy.socketPath} unreachable`) ? true : undefined), 30_000);
    expect(stack.output()).toMatch(/ensureServer: backend unavailable; retrying/);
    // Kept while the engine is away: not failed, not dropped.
    const waiting = await stack.client.lease.get({ name: "later" });
    expect(["LEASE_PHASE_PLACING", "LEASE_PHASE_LOADING"]).toContain(waiting.phase);

    await proxy.restore();
    const ready = await until("the lease to be Ready once the engine is back", async () => {
      const l = await stack.client.lease.get({ name: "later" });
      return l.phase === "LEASE_PHASE_READY" ? l : undefined;
    }, 60_000);
    expect(ofServer(instance, ready.placement!.serverId).filter((c) => c.State.Running)).toHaveLength(2);
    expect((await stack.client.lease.get({ name: "sturdy" })).phase).toBe("LEASE_PHASE_READY");
    await expectInference(stack.router, 9);
  }, 150_000);

  it("a server that cannot start fails its lease with the end of the server's log", async () => {
    const created = await stack.berth("lease", "create", "broken", "-m", "simple", "--image", FAILING_IMAGE, "--wait");
    expect(created.code).toBe(1);
    const lease = await stack.client.lease.get({ name: "broken" });
    expect(lease.phase).toBe("LEASE_PHASE_FAILED");
    expect(lease.failureReason).toBe("ServerFailed");
    // The backend's account (Docker may have restarted it before the backend saw it exit), then the log.
    expect(lease.failureMessage).toMatch(/^server srv-\d+ failed: replica srv-\d+-0: StartFailed: server exited/);
    expect(lease.failureMessage).toContain(FAILURE_MARK);
    expect(created.stderr + created.stdout).toContain(FAILURE_MARK);
    // What is left of the failed server (stopped containers) is removed.
    const serverId = /^server (srv-\d+) failed/.exec(lease.failureMessage)![1]!;
    await until("the failed server's containers to be removed", () => (ofServer(instance, serverId).length === 0 ? true : undefined), 30_000);
  }, 90_000);

  it("an image that is missing and cannot be pulled fails its lease at once, naming the image", async () => {
    const created = await stack.berth("lease", "create", "unpulled", "-m", "simple", "--image", MISSING_IMAGE, "--wait");
    expect(created.code).toBe(1);
    const lease = await stack.client.lease.get({ name: "unpulled" });
    expect(lease.phase).toBe("LEASE_PHASE_FAILED");
    expect(lease.failureReason).toBe("ServerFailed");
    expect(lease.failureMessage).toMatch(new RegExp(`^server srv-\\d+ could not be made: docker: image '${MISSING_IMAGE}' not found: not present locally and the pull failed`));
  }, 60_000);

  it("npm start stops its containers with it (Ctrl-C) when the configuration does not say otherwise", async () => {
    // sturdy's and later's servers.
    expect(containersOf(instance).filter((c) => c.State.Running)).toHaveLength(4);
    expect(await stack.stop()).toBe(0);
    expect(containersOf(instance)).toEqual([]);
  }, 90_000);
});

// berthd started while the engine is unreachable: it starts anyway (API up, leases accepted and
// kept, /readyz saying why it is not ready), logs the engine's address and that it retries, and
// once the engine answers converges: the lease's containers are made and it serves. Restarted
// with the engine away again, it adopts those containers once the engine is back.
describe.skipIf(unavailable !== undefined)("berthd started while the Docker engine is unreachable", () => {
  const instance = testInstance("e2e-late");
  let stateDir: string;
  let proxyDir: string;
  let proxy: EngineProxy;
  let listen: string;
  let stack: DockerStack | undefined;

  const start = () =>
    startDockerStack({
      stateDir,
      listen,
      docker: { instance, socketPath: proxy.socketPath, pollIntervalMs: 300, readyTimeoutMs: 60_000, stopGraceSeconds: 2, onClose: "leave" },
      config: { placement: { keepWarm: false } },
    });
  const readyz = async (s: DockerStack) => {
    const answer = await fetch(`${s.berthdHttp}/readyz`);
    return { status: answer.status, text: await answer.text() };
  };

  beforeAll(async () => {
    stateDir = tempStateDir();
    proxyDir = tempStateDir();
    proxy = await startEngineProxy(proxyDir);
    listen = `127.0.0.1:${await freePort()}`;
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
    removeInstance(instance, stateDir);
    if (proxyDir !== undefined) rmSync(proxyDir, { recursive: true, force: true });
  }, 60_000);

  it("starts, accepts and keeps a lease, says which engine it waits for; once the engine answers the lease is Ready and served", async () => {
    await proxy.cut();
    const up = await start();
    stack = up;
    // Up without the engine: the error names it and says it retries; /readyz tells why it is not ready.
    expect(up.output()).toContain(`berthd error: docker backend: cannot start: Docker engine at ${proxy.socketPath} unreachable`);
    expect(up.output()).toMatch(/retrying until it answers/);
    const notReady = await until("/readyz to say the backend is unavailable", async () => {
      const r = await readyz(up);
      return r.status === 503 ? r : undefined;
    }, 15_000);
    expect(notReady.text).toContain(`backend unavailable: docker: unavailable: not started yet, retrying: Docker engine at ${proxy.socketPath} unreachable`);
    expect((await fetch(`${up.berthdHttp}/healthz`)).status).toBe(200);

    const created = await up.berth("lease", "create", "early", "-m", "simple", "--duration", "5m");
    expect(created.code, created.stderr).toBe(0);
    await until("berthd to retry reaching the engine", () => (/backend unavailable at start; reconciling once it answers/.test(up.output()) ? true : undefined), 15_000);
    const waiting = await up.client.lease.get({ name: "early" });
    expect(["LEASE_PHASE_PENDING", "LEASE_PHASE_PLACING", "LEASE_PHASE_LOADING"]).toContain(waiting.phase);
    expect(containersOf(instance)).toEqual([]);

    await proxy.restore();
    const ready = await until("the lease to be Ready once the engine answers", async () => {
      const l = await up.client.lease.get({ name: "early" });
      return l.phase === "LEASE_PHASE_READY" ? l : undefined;
    }, 90_000);
    expect(berthdLog(stateDir, "docker backend: started, now that it can be reached")).toMatchObject([{ backend: "docker" }]);
    expect(await readyz(up)).toEqual({ status: 200, text: "ready\n" });
    expect(ofServer(instance, ready.placement!.serverId).filter((c) => c.State.Running)).toHaveLength(2);
    expect(berthdLog(stateDir, "reconciled with the backend").at(-1)).toMatchObject({ backend: "docker" });
    await expectInference(up.router, 11);
  }, 150_000);

  it("restarted while the engine is away again: once it answers, the running containers are adopted, not duplicated", async () => {
    const lease = await stack!.client.lease.get({ name: "early" });
    const serverId = lease.placement!.serverId;
    const before = ofServer(instance, serverId);
    expect(before).toHaveLength(2);
    expect(await stack!.stop()).toBe(0);
    stack = undefined;
    await proxy.cut();

    const up = await start();
    stack = up;
    expect(up.output()).toContain(`Docker engine at ${proxy.socketPath} unreachable`);
    expect((await up.client.lease.get({ name: "early" })).placement?.serverId).toBe(serverId);
    await proxy.restore();
    await until("the restarted berthd to reconcile with the engine", () => (berthdLog(stateDir, "reconciled with the backend").length >= 2 ? true : undefined), 60_000);
    expect(berthdLog(stateDir, "reconciled with the backend").at(-1)).toMatchObject({ backend: "docker", observed: 1, removed: 0 });
    const ready = await until("the lease to be Ready under the restarted berthd", async () => {
      const l = await up.client.lease.get({ name: "early" });
      return l.phase === "LEASE_PHASE_READY" && l.placement?.readyReplicas === 1 ? l : undefined;
    }, 60_000);
    expect(ready.placement?.serverId).toBe(serverId);
    await expectInference(up.router, 12);
    const after = ofServer(instance, serverId);
    expect(after.map((c) => c.Id)).toEqual(before.map((c) => c.Id));
    expect(after.map((c) => c.State.StartedAt)).toEqual(before.map((c) => c.State.StartedAt));
  }, 150_000);
});
