// The Docker backend against a real Docker engine and the real image localhost/berth:dev: the
// conformance suite (with `docker kill` as the crash), then what only this backend does:
// adoption by label with orphans removed, GPU device requests and limits on the created
// container (none on a CPU-only node), an unreachable engine, a missing image that cannot be pulled.
// The engine comes from scripts/ci/start-docker.sh and the image from scripts/image/build.sh
// (built here only when missing; CI builds it with `npm run image:local`). Without an engine
// these tests fail: they are the Docker backend's only proof.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { Effect, Either, Layer, Schedule } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDemoRepository } from "@berth/repository";
import { awaitReady, awaitServer } from "../src/await.js";
import { Backend, type BackendShape } from "../src/backend.js";
import { runBackendConformance } from "../src/conformance.js";
import type { BackendError } from "../src/errors.js";
import { decodeDockerBackendConfig, type DockerBackendOptions } from "../src/docker/config.js";
import { containerName, LABEL_INSTANCE, replicaContainers, volumeName } from "../src/docker/containers.js";
import { dockerBackendPlugin, layerDockerWith } from "../src/docker/docker-backend.js";
import { gpuNode, nvidiaSmiGpus } from "../src/docker/gpus.js";
import { builtinBackends, makeBackendLayer, withPlugins } from "../src/registry.js";
import { REPO_ROOT } from "../src/process/runtime.js";
import type { ServerSpec } from "../src/spec.js";

const IMAGE = "localhost/berth:dev";
const FAILURE_MARK = "conformance: this server cannot start";
const INSTANCE = `test-${randomBytes(3).toString("hex")}`;
const SOCKET = "/var/run/docker.sock";
const docker = new Docker({ socketPath: SOCKET });

const spec = (serverId: string, replicas = 1): ServerSpec => ({
  serverId,
  image: IMAGE,
  group: "onnxruntime",
  node: "local",
  gpus: [],
  resources: { gpuMemory: 0, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 1024 * 1024 * 1024, gpuModels: [] },
  replicas,
  labels: { "berth.dev/test": "docker" },
});

const options = (more: Partial<DockerBackendOptions> = {}): DockerBackendOptions => ({
  socketPath: SOCKET,
  instance: INSTANCE,
  gpus: [],
  pollIntervalMs: 300,
  readyTimeoutMs: 60_000,
  fastCrashWindowMs: 3000,
  maxFastCrashes: 3,
  stopGraceSeconds: 2,
  pullTimeoutMs: 5000,
  images: { "fails-to-start": { image: IMAGE, command: ["sh", "-c", `echo '${FAILURE_MARK}' >&2; exit 3`] } },
  ...more,
});

const run = <A>(layer: Layer.Layer<Backend, BackendError>, program: (backend: BackendShape) => Effect.Effect<A, BackendError>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Backend, program).pipe(Effect.provide(layer))));

/**
 * The engine over TCP through a proxy a test can cut (`cut`) and bring back at the same port
 * (`listen(port)`): an engine going away, seen from berthd.
 */
function engineProxy() {
  const sockets = new Set<Socket>();
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const proxy = createServer((client) => {
        const engine = connect(SOCKET);
        for (const s of [client, engine]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => s.destroy());
        }
        client.pipe(engine).pipe(client);
      });
      proxy.once("error", reject);
      proxy.listen(port, "127.0.0.1", () => resolve(proxy));
    });
  const cut = (proxy: Server) =>
    new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return { listen, cut };
}

const ours = async (): Promise<Docker.ContainerInfo[]> => docker.listContainers({ all: true, filters: { label: [`${LABEL_INSTANCE}=${INSTANCE}`] } });

beforeAll(() => {
  // Fails (does not skip) when no engine can be had: start-docker.sh exits non-zero.
  execFileSync("bash", [join(REPO_ROOT, "scripts/ci/start-docker.sh")], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "ignore" });
  } catch {
    execFileSync("bash", [join(REPO_ROOT, "scripts/image/build.sh")], { stdio: ["ignore", "pipe", "inherit"], timeout: 300_000 });
  }
}, 360_000);

afterAll(async () => {
  for (const c of await ours()) await docker.getContainer(c.Id).remove({ force: true, v: true });
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL_INSTANCE}=${INSTANCE}`] } });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove();
}, 60_000);

runBackendConformance("docker", () => layerDockerWith(options()), {
  spec: (id) => spec(id),
  failingSpec: (id) => ({ spec: { ...spec(id), image: "fails-to-start" }, logContains: FAILURE_MARK }),
  killReplica: async (replica, server) => {
    execFileSync("docker", ["kill", containerName(server.serverId, replica.index, "server")], { stdio: "ignore" });
  },
  idPrefix: "dconf",
});

describe("docker backend", () => {
  it("a new instance adopts running containers without duplicating them, and removes labelled orphans", async () => {
    const id = `adopt-${INSTANCE}`;
    const first = await run(layerDockerWith(options()), (backend) => backend.ensureServer(spec(id)).pipe(Effect.zipRight(awaitReady(backend, id, "90 seconds"))));
    const before = (await ours()).filter((c) => c.Labels["berth.dev/server-id"] === id);
    expect(before.map((c) => c.Names[0]).sort()).toEqual([`/${containerName(id, 0, "server")}`]);
    // An orphan: this instance's labels, a replica index the spec does not have (left by a
    // scale-down the previous instance did not finish).
    const config = decodeDockerBackendConfig(options());
    if (config._tag === "Left") throw new Error(config.left.join("; "));
    const stray = replicaContainers(config.right, spec(id, 1), 3, { node: "local", gpus: [] }, { http: 1, grpc: 2, metrics: 3 }, 1).server;
    const orphan = await docker.createContainer({ ...stray, Entrypoint: ["sh"], Cmd: ["-c", "sleep 600"] });
    await orphan.start();
    await run(layerDockerWith(options()), (backend) =>
      Effect.gen(function* () {
        const up = yield* awaitReady(backend, id, "10 seconds");
        expect(up.replicas.map((r) => r.endpoints)).toEqual(first.replicas.map((r) => r.endpoints));
        expect(up.replicas[0].restarts).toBe(0);
        yield* backend.ensureServer(spec(id));
        const after = (yield* Effect.promise(ours)).filter((c) => c.Labels["berth.dev/server-id"] === id);
        // The same container, still the only one: adopted, not recreated; the orphan is gone, its volume too.
        expect(after.map((c) => c.Id)).toEqual(before.map((c) => c.Id));
        const volumes = yield* Effect.promise(() => docker.listVolumes());
        expect((volumes.Volumes ?? []).map((v) => v.Name)).not.toContain(volumeName(id, 3));
        yield* backend.deleteServer(id);
      }),
    );
    expect((await ours()).filter((c) => c.Labels["berth.dev/server-id"] === id)).toEqual([]);
  }, 180_000);

  it("runs a sidecar container beside each server, sharing the model volume; a killed sidecar is a counted crash", async () => {
    const id = `paired-${INSTANCE}`;
    const repository = mkdtempSync(join(tmpdir(), "berth-docker-repo-"));
    const cache = mkdtempSync(join(tmpdir(), "berth-docker-cache-"));
    await writeDemoRepository(repository);
    // No berthd listens there: the sidecar keeps retrying, which is all this test needs of it.
    const paired: ServerSpec = { ...spec(id), sidecar: { berthd: "127.0.0.1:9", repositories: [{ name: "demo", location: repository }], cache } };
    await run(layerDockerWith(options()), (backend) =>
      Effect.gen(function* () {
        yield* backend.ensureServer(paired);
        const up = yield* awaitReady(backend, id, "90 seconds");
        const sidecar = yield* Effect.promise(() => docker.getContainer(containerName(id, 0, "sidecar")).inspect());
        expect(sidecar.State.Running).toBe(true);
        expect(sidecar.Config.Cmd).toEqual(
          expect.arrayContaining(["--server-http", up.replicas[0].endpoints!.http, "--server-id", id, "--replica-id", `${id}-0`, "--server-repository", "/models", `demo=${repository}`]),
        );
        expect(sidecar.HostConfig.Binds).toEqual(expect.arrayContaining([`${volumeName(id, 0)}:/models`, `${cache}:${cache}`, `${repository}:${repository}:ro`]));
        execFileSync("docker", ["kill", containerName(id, 0, "sidecar")], { stdio: "ignore" });
        const back = yield* awaitServer(backend, id, (s) => s?.replicas[0]?.state === "Ready" && s.replicas[0].restarts === 1, "60 seconds");
        expect(back!.replicas[0].lastError?.message).toMatch(/^sidecar exited/);
        yield* backend.deleteServer(id);
      }),
    );
  }, 180_000);

  it("end to end without berthd: containers up, a model loaded, inference through berth-router, deleted, gone", async () => {
    const id = `e2e-${INSTANCE}`;
    const dir = mkdtempSync(join(tmpdir(), "berth-docker-e2e-"));
    await writeDemoRepository(join(dir, "repo"));
    let router: ChildProcess | undefined;
    try {
      await run(layerDockerWith(options()), (backend) =>
        Effect.gen(function* () {
          yield* backend.ensureServer(spec(id));
          const up = yield* awaitReady(backend, id, "90 seconds");
          const replica = up.replicas[0];
          // What the sidecar does for a lease, by hand: the model into the server's repository volume, then load.
          execFileSync("docker", ["cp", join(dir, "repo", "simple"), `${containerName(id, 0, "server")}:/models/simple`], { stdio: "ignore" });
          const load = yield* Effect.promise(() => fetch(`http://${replica.endpoints!.http}/v2/repository/models/simple/load`, { method: "POST" }));
          expect(load.status).toBe(200);
          const routes = join(dir, "routes.json");
          writeFileSync(routes, JSON.stringify({ leases: [{ name: "e2e", models: ["simple"], replicas: [{ id: replica.replicaId, http: replica.endpoints!.http, grpc: replica.endpoints!.grpc }] }] }));
          router = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "apps/router/src/main.ts"), "--routes", routes, "--http-port", "0", "--grpc-port", "off"], {
            cwd: REPO_ROOT,
            stdio: ["ignore", "pipe", "inherit"],
          });
          const listening = yield* Effect.promise(
            () =>
              new Promise<{ http: number }>((resolve, reject) => {
                router!.stdout!.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString("utf8").split("\n")[0]) as { http: number }));
                router!.once("exit", (code) => reject(new Error(`router exited with ${code}`)));
              }),
          );
          const a = Array.from({ length: 16 }, (_, i) => i);
          const b = Array.from({ length: 16 }, () => 1);
          const infer = () =>
            fetch(`http://127.0.0.1:${listening.http}/v2/models/simple/infer`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                inputs: [
                  { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: a },
                  { name: "INPUT1", datatype: "INT32", shape: [1, 16], data: b },
                ],
              }),
            });
          const answer = yield* Effect.promise(infer);
          expect(answer.status).toBe(200);
          const body = (yield* Effect.promise(() => answer.json())) as { outputs: { name: string; data: number[] }[] };
          expect(body.outputs.find((o) => o.name === "OUTPUT0")?.data).toEqual(a.map((x) => x + 1));
          expect(body.outputs.find((o) => o.name === "OUTPUT1")?.data).toEqual(a.map((x) => x - 1));
          // The lease ends: the server is deleted, its containers go, the route has nowhere to send.
          yield* backend.deleteServer(id);
          expect((yield* Effect.promise(ours)).filter((c) => c.Labels["berth.dev/server-id"] === id)).toEqual([]);
          const after = yield* Effect.promise(infer);
          expect(after.status).toBeGreaterThanOrEqual(500);
        }),
      );
    } finally {
      router?.kill("SIGTERM");
    }
  }, 180_000);

  it("creates GPU device requests for the placement's exact GPUs, with memory and CPU limits (inspected, not started)", async () => {
    const config = decodeDockerBackendConfig(options({ gpus: [0, 1, 2, 3] }));
    if (config._tag === "Left") throw new Error(config.left.join("; "));
    const gpuSpec: ServerSpec = { ...spec(`gpu-${INSTANCE}`), gpus: [0, 2], resources: { ...spec("x").resources, gpus: 2, cpu: 1500, memory: 2 * 1024 ** 3 } };
    const made = replicaContainers(config.right, gpuSpec, 0, { node: "local", gpus: [0, 2] }, { http: 18000, grpc: 18001, metrics: 18002 }, 1);
    // Starting it needs the NVIDIA runtime, which this machine lacks; creating it is enough to see what the engine recorded.
    const container = await docker.createContainer(made.server);
    try {
      const info = await container.inspect();
      expect(info.HostConfig.DeviceRequests).toEqual([{ Driver: "nvidia", Count: 0, DeviceIDs: ["0", "2"], Capabilities: [["gpu"]], Options: null }]);
      expect(info.HostConfig.Memory).toBe(2 * 1024 ** 3);
      expect(info.HostConfig.NanoCpus).toBe(1_500_000_000);
      expect(info.HostConfig.NetworkMode).toBe("host");
      expect(info.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
      expect(info.Config.Env).toContain("NVIDIA_VISIBLE_DEVICES=0,2");
      expect(info.Config.Cmd).toEqual(expect.arrayContaining(["--http-port=18000", "--grpc-port=18001", "--metrics-port=18002", "--model-repository=/models"]));
      expect(info.Config.Labels).toMatchObject({ "berth.dev/server-id": gpuSpec.serverId, "berth.dev/replica": "0", "berth.dev/managed-by": "berth-docker-backend" });
    } finally {
      await container.remove({ force: true });
      await docker.getVolume(made.volume.name).remove();
    }
    // A CPU request beyond the host's CPUs is capped at what the host has (the engine refuses more).
    const capped = replicaContainers(config.right, { ...gpuSpec, resources: { ...gpuSpec.resources, cpu: 64_000 } }, 0, { node: "local", gpus: [] }, { http: 1, grpc: 2, metrics: 3 }, 1, 2);
    expect(capped.server.HostConfig?.NanoCpus).toBe(2_000_000_000);
    expect(capped.server.HostConfig?.DeviceRequests).toBeUndefined();
    // The backend refuses GPUs the node does not have, before creating anything.
    const error = await run(layerDockerWith(options({ gpus: [0, 1] })), (backend) =>
      Effect.flip(backend.ensureServer({ ...gpuSpec, serverId: `gpu2-${INSTANCE}` })).pipe(Effect.orDie),
    );
    expect(error.reason._tag).toBe("InvalidSpec");
    expect(error.message).toMatch(/GPU 2 not on this node/);
    expect((await ours()).some((c) => c.Labels["berth.dev/server-id"] === `gpu2-${INSTANCE}`)).toBe(false);
  }, 60_000);

  it("hands the sidecar berthd's credentials in its environment, never in its command line", () => {
    const config = decodeDockerBackendConfig(options());
    if (config._tag === "Left") throw new Error(config.left.join("; "));
    const sidecar = { berthd: "127.0.0.1:50051", repositories: [{ name: "demo", location: "/srv/demo" }], cache: "/srv/cache" };
    const made = (settings: ServerSpec["sidecar"]) => replicaContainers(config.right, { ...spec("creds"), sidecar: settings! }, 0, { node: "local", gpus: [] }, { http: 1, grpc: 2, metrics: 3 }, 1).sidecar!;
    expect(made(sidecar).Env).toEqual([]);
    const withToken = made({ ...sidecar, token: "bst1.creds.secret", berthdServerName: "berthd.example" });
    expect(withToken.Env).toEqual(expect.arrayContaining(["BERTH_SIDECAR_TOKEN=bst1.creds.secret", "BERTH_SIDECAR_BERTHD_SERVER_NAME=berthd.example"]));
    expect(JSON.stringify([withToken.Cmd, withToken.Entrypoint])).not.toContain("bst1.creds.secret");
  });

  it("without a configured GPU inventory and no GPUs found, the node is CPU-only: placements' pretend GPUs get no devices", async () => {
    // berthd's nodes offer one pretend GPU on a machine without any (gpus: auto); nvidia-smi finds none here.
    expect(gpuNode(undefined, () => [])).toEqual({ inventory: [], cpuOnly: true });
    expect(gpuNode(undefined, () => [0, 1])).toEqual({ inventory: [0, 1], cpuOnly: false });
    // A configured inventory is strict, even an empty one.
    expect(gpuNode([], () => [0])).toEqual({ inventory: [], cpuOnly: false });
    if (nvidiaSmiGpus().length > 0) return;
    const { gpus: _strict, ...auto } = options();
    const id = `cpuonly-${INSTANCE}`;
    await run(layerDockerWith(auto), (backend) =>
      Effect.gen(function* () {
        yield* backend.ensureServer({ ...spec(id), gpus: [0], placements: [{ node: "local", gpus: [0] }] });
        const info = yield* Effect.promise(() => docker.getContainer(containerName(id, 0, "server")).inspect());
        expect(info.HostConfig.DeviceRequests ?? []).toEqual([]);
        expect(info.Config.Env ?? []).not.toContain("NVIDIA_VISIBLE_DEVICES=0");
        // The placement is still what the backend reports.
        expect((yield* backend.list()).find((s) => s.serverId === id)?.replicas[0]?.placement.gpus).toEqual([0]);
        yield* backend.deleteServer(id);
      }),
    );
  }, 60_000);

  it("an engine unreachable at start: the backend is there within seconds, its calls Unavailable naming the socket", async () => {
    const started = Date.now();
    const errors = await run(layerDockerWith(options({ socketPath: "/nonexistent/docker.sock" })), (backend) =>
      Effect.gen(function* () {
        expect(Date.now() - started).toBeLessThan(5000);
        return [yield* Effect.flip(backend.list()).pipe(Effect.orDie), yield* Effect.flip(backend.ensureServer(spec("never"))).pipe(Effect.orDie)];
      }),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    for (const error of errors) {
      expect(error.reason._tag).toBe("Unavailable");
      expect(error.message).toContain("Docker engine at /nonexistent/docker.sock unreachable");
    }
  }, 20_000);

  it("while the engine is unreachable calls fail Unavailable and state is kept; when it is back the work resumes", async () => {
    const { listen, cut } = engineProxy();
    let proxy = await listen(0);
    const port = (proxy.address() as { port: number }).port;
    const id = `away-${INSTANCE}`;
    try {
      await run(layerDockerWith(options({ tcp: `127.0.0.1:${port}` })), (backend) =>
        Effect.gen(function* () {
          yield* backend.ensureServer(spec(id));
          yield* awaitReady(backend, id, "90 seconds");
          yield* Effect.promise(() => cut(proxy));
          const started = Date.now();
          const error = yield* Effect.flip(backend.scale(id, 2)).pipe(Effect.orDie);
          expect(Date.now() - started).toBeLessThan(5000);
          expect(error.reason._tag).toBe("Unavailable");
          expect(error.message).toMatch(new RegExp(`Docker engine at tcp://127.0.0.1:${port} unreachable`));
          // Nothing lost: the server is still known, and still served (the engine only went away from us).
          const listed = (yield* backend.list()).find((s) => s.serverId === id);
          expect(listed?.desiredReplicas).toBe(2);
          expect(listed?.replicas[0].state).toBe("Ready");
          proxy = yield* Effect.promise(() => listen(port));
          // The scale asked for while the engine was away is carried out once it is back.
          const two = yield* awaitReady(backend, id, "90 seconds");
          expect(two.replicas).toHaveLength(2);
          expect(two.replicas[0].restarts).toBe(0);
          yield* backend.deleteServer(id);
        }),
      );
    } finally {
      await cut(proxy);
    }
    expect((await ours()).filter((c) => c.Labels["berth.dev/server-id"] === id)).toEqual([]);
  }, 240_000);

  it("started while the engine is unreachable: once it answers, adopts what runs (not duplicated) and makes what is asked", async () => {
    const { listen, cut } = engineProxy();
    let proxy = await listen(0);
    const port = (proxy.address() as { port: number }).port;
    const where = new RegExp(`Docker engine at tcp://127.0.0.1:${port} unreachable`);
    const running = `late-a-${INSTANCE}`;
    const asked = `late-b-${INSTANCE}`;
    try {
      // A server left running by a previous instance (onClose "leave").
      await run(layerDockerWith(options({ tcp: `127.0.0.1:${port}` })), (backend) => backend.ensureServer(spec(running)).pipe(Effect.zipRight(awaitReady(backend, running, "90 seconds"))));
      const before = (await ours()).filter((c) => c.Labels["berth.dev/server-id"] === running).map((c) => c.Id).sort();
      expect(before).toHaveLength(1);
      await cut(proxy);

      const started = Date.now();
      await run(layerDockerWith(options({ tcp: `127.0.0.1:${port}` })), (backend) =>
        Effect.gen(function* () {
          // Up without its engine: every call is Unavailable, naming it, within seconds.
          expect(Date.now() - started).toBeLessThan(5000);
          const calls: Effect.Effect<unknown, BackendError>[] = [backend.list(), backend.ensureServer(spec(asked)), backend.scale(running, 2), backend.deleteServer(running)];
          for (const call of calls) {
            const error = yield* Effect.flip(call).pipe(Effect.orDie);
            expect(error.reason._tag).toBe("Unavailable");
            expect(error.message).toMatch(where);
          }
          proxy = yield* Effect.promise(() => listen(port));
          // The engine answers: the start completes (adoption), then calls are carried out.
          const listed = yield* backend.list().pipe(Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("30 seconds"))));
          expect(listed.map((s) => s.serverId)).toContain(running);
          const adopted = yield* awaitReady(backend, running, "60 seconds");
          expect(adopted.replicas[0].restarts).toBe(0);
          yield* backend.ensureServer(spec(asked));
          yield* awaitReady(backend, asked, "90 seconds");
          const after = (yield* Effect.promise(ours)).filter((c) => c.Labels["berth.dev/server-id"] === running).map((c) => c.Id).sort();
          expect(after).toEqual(before);
          yield* backend.deleteServer(running);
          yield* backend.deleteServer(asked);
        }),
      );
    } finally {
      await cut(proxy);
    }
    expect((await ours()).filter((c) => [running, asked].includes(c.Labels["berth.dev/server-id"] ?? ""))).toEqual([]);
  }, 240_000);

  it("is a registry plugin; its configuration is decoded with every problem listed", async () => {
    const registry = withPlugins(builtinBackends, dockerBackendPlugin);
    const error = await Effect.runPromise(
      Effect.flip(Effect.scoped(Layer.build(makeBackendLayer("docker", { socketPath: "", pollIntervalMs: -1, tcp: "nohost", bogus: 1 }, registry)))),
    );
    expect(error.reason._tag).toBe("InvalidConfig");
    if (error.reason._tag === "InvalidConfig") expect(error.reason.problems.length).toBeGreaterThanOrEqual(4);
    const defaults = decodeDockerBackendConfig(undefined);
    expect(Either.getOrThrow(defaults)).toMatchObject({ socketPath: "/var/run/docker.sock", instance: "default", onClose: "leave", serverCommand: ["berth-model-server"] });
    const caps = await run(makeBackendLayer("docker", options(), registry), (backend) => Effect.succeed(backend.capabilities));
    expect(caps).toEqual({ gpus: false, images: "oci", adoption: true, nodes: "one" });
  }, 30_000);

  it("a missing image that cannot be pulled is ImageNotFound, quickly, and creates nothing", async () => {
    const started = Date.now();
    const error = await run(layerDockerWith(options()), (backend) =>
      Effect.flip(backend.ensureServer({ ...spec(`noimage-${INSTANCE}`), image: "localhost:1/berth/missing:none" })).pipe(Effect.orDie),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.reason).toMatchObject({ _tag: "ImageNotFound", image: "localhost:1/berth/missing:none" });
    expect((await ours()).some((c) => c.Labels["berth.dev/server-id"] === `noimage-${INSTANCE}`)).toBe(false);
  }, 30_000);
});
