// The process backend against the real berth-model-server: the conformance suite, then what
// only this backend does (fast-crash accounting, adoption of real pids, orphans, shutdown,
// tritonserver selection).
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either, type Layer } from "effect";
import { writeDemoRepository } from "@berth/repository";
import { afterAll, describe, expect, it } from "vitest";
import { awaitReady, awaitServer } from "../src/await.js";
import { Backend, type BackendShape } from "../src/backend.js";
import { runBackendConformance } from "../src/conformance.js";
import type { BackendError } from "../src/errors.js";
import { ENV_REPLICA_ID, ENV_ROLE, ENV_STATE_DIR, isAlive } from "../src/process/child.js";
import type { ProcessBackendOptions } from "../src/process/config.js";
import { layerProcessWith } from "../src/process/process-backend.js";
import { REPO_ROOT } from "../src/process/runtime.js";
import { readStateFile } from "../src/process/state-file.js";
import type { ServerSpec } from "../src/spec.js";

const temporary: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const FAILING_IMAGE = "fails-to-start";
const FAILURE_MARK = "conformance: this server cannot start";
const CRASHING_IMAGE = "crashes";

const spec = (serverId: string, replicas = 1): ServerSpec => ({
  serverId,
  image: "berth-model-server",
  group: "onnxruntime",
  node: "local",
  gpus: [],
  resources: { gpuMemory: 0, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 512 * 1024 * 1024, gpuModels: [] },
  replicas,
  labels: { "berth.dev/test": "process" },
});

const options = (stateDir: string, more: Partial<ProcessBackendOptions> = {}): ProcessBackendOptions => ({
  stateDir,
  onClose: "leave",
  restartBaseMs: 100,
  restartCapMs: 1000,
  fastCrashWindowMs: 2000,
  maxFastCrashes: 3,
  stopGraceMs: 3000,
  images: {
    [FAILING_IMAGE]: { command: [process.execPath, "-e", `console.error(${JSON.stringify(FAILURE_MARK)}); process.exit(3)`] },
    [CRASHING_IMAGE]: { command: [process.execPath, "-e", "console.error('crash'); process.exit(7)"] },
  },
  ...more,
});

function pidsOf(stateDir: string, serverId: string): number[] {
  const state = readStateFile(stateDir);
  if (Either.isLeft(state)) throw new Error(state.left);
  return state.right.servers.filter((s) => s.spec.serverId === serverId).flatMap((s) => s.replicas.flatMap((r) => [r.server, ...(r.sidecar !== undefined ? [r.sidecar] : [])]));
}

const conformanceState = tempDir("berth-process-conformance-");
runBackendConformance("process", () => layerProcessWith(options(conformanceState)), {
  spec: (id) => spec(id),
  failingSpec: (id) => ({ spec: { ...spec(id), image: FAILING_IMAGE }, logContains: FAILURE_MARK }),
  killReplica: async (replica, server) => {
    const state = readStateFile(conformanceState);
    if (Either.isLeft(state)) throw new Error(state.left);
    const recorded = state.right.servers.find((s) => s.spec.serverId === server.serverId)?.replicas.find((r) => r.index === replica.index);
    if (recorded === undefined) throw new Error(`no recorded pid for ${replica.replicaId}`);
    process.kill(recorded.server, "SIGKILL");
  },
});

const run = <A>(layer: Layer.Layer<Backend, BackendError>, program: (backend: BackendShape) => Effect.Effect<A, BackendError>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Backend, program).pipe(Effect.provide(layer))));

describe("process backend", () => {
  const started: number[] = [];
  afterAll(() => {
    for (const pid of started) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  });

  it("marks a replica Failed after maxFastCrashes fast crashes, with exit code and log tail", async () => {
    const stateDir = tempDir("berth-process-crash-");
    const failed = await run(layerProcessWith(options(stateDir, { onClose: "stop" })), (backend) =>
      Effect.gen(function* () {
        yield* backend.ensureServer({ ...spec("crashy"), image: CRASHING_IMAGE });
        return yield* awaitServer(backend, "crashy", (s) => s?.replicas[0]?.state === "Failed", "20 seconds");
      }),
    );
    const replica = failed!.replicas[0];
    expect(replica.restarts).toBe(2); // three starts: the first and two restarts
    expect(replica.lastError).toMatchObject({ reason: "StartFailed", exitCode: 7 });
    expect(replica.lastError!.logTail).toContain("crash");
  }, 30_000);

  it("a restarted backend adopts live replicas (same pids), restarts one that dies later, and kills orphans", async () => {
    const stateDir = tempDir("berth-process-adopt-");
    const layer = () => layerProcessWith(options(stateDir));
    await run(layer(), (backend) => backend.ensureServer(spec("adoptee")).pipe(Effect.zipRight(awaitReady(backend, "adoptee", "90 seconds"))));
    const [pid] = pidsOf(stateDir, "adoptee");
    expect(isAlive(pid)).toBe(true);
    // An orphan: marked as this backend's, recorded nowhere (started just before a crash).
    const orphan = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
      env: { ...process.env, [ENV_STATE_DIR]: stateDir, [ENV_REPLICA_ID]: "adoptee-9", [ENV_ROLE]: "server" },
      stdio: "ignore",
    });
    started.push(orphan.pid!);
    const orphanExited = new Promise<void>((resolve) => orphan.once("exit", () => resolve()));
    await run(layer(), (backend) =>
      Effect.gen(function* () {
        const up = yield* awaitReady(backend, "adoptee", "10 seconds");
        expect(pidsOf(stateDir, "adoptee")).toEqual([pid]);
        yield* Effect.promise(() => orphanExited);
        // The adopted process is not our child; its death is still seen, and it is restarted.
        process.kill(pid, "SIGKILL");
        const back = yield* awaitServer(backend, "adoptee", (s) => s?.replicas[0]?.state === "Ready" && s.replicas[0].restarts === 1, "90 seconds");
        expect(back!.replicas[0].endpoints).toEqual(up.replicas[0].endpoints);
        expect(pidsOf(stateDir, "adoptee")).not.toEqual([pid]);
        yield* backend.deleteServer("adoptee");
      }),
    );
    expect(isAlive(pid)).toBe(false);
  }, 240_000);

  it("closing with onClose 'stop' stops every child and forgets the servers", async () => {
    const stateDir = tempDir("berth-process-stop-");
    const layer = layerProcessWith(options(stateDir, { onClose: "stop" }));
    const pids = await run(layer, (backend) =>
      Effect.gen(function* () {
        yield* backend.ensureServer(spec("stopper", 1));
        yield* awaitReady(backend, "stopper", "90 seconds");
        return pidsOf(stateDir, "stopper");
      }),
    );
    expect(pids).toHaveLength(1);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(readStateFile(stateDir)).toEqual(Either.right({ version: 1, servers: [] }));
  }, 120_000);

  it("runs tritonserver when configured and installed, with the replica's GPUs in CUDA_VISIBLE_DEVICES", async () => {
    // A stand-in for the tritonserver binary (none is installed here): it records what it was
    // given and serves with the model server, which takes tritonserver's flags.
    const bin = tempDir("berth-fake-triton-");
    const record = join(bin, "seen");
    writeFileSync(
      join(bin, "tritonserver"),
      `#!/bin/sh\necho "$CUDA_VISIBLE_DEVICES $*" > ${record}\nexec ${process.execPath} --import tsx ${join(REPO_ROOT, "apps/model-server/src/main.ts")} "$@"\n`,
    );
    chmodSync(join(bin, "tritonserver"), 0o755);
    const stateDir = tempDir("berth-process-triton-");
    const caps = await run(layerProcessWith(options(stateDir, { onClose: "stop", tritonserver: join(bin, "tritonserver") })), (backend) =>
      Effect.gen(function* () {
        yield* backend.ensureServer({ ...spec("triton"), gpus: [1, 3] });
        yield* awaitReady(backend, "triton", "90 seconds");
        return backend.capabilities;
      }),
    );
    expect(caps.gpus).toBe(true);
    const seen = readFileSync(record, "utf8");
    expect(seen).toMatch(/^1,3 --model-repository=\S+ --model-control-mode=explicit --http-port=\d+ --grpc-port=\d+ --metrics-port=\d+/);
    const fallback = await run(layerProcessWith(options(tempDir("berth-process-notriton-"), { tritonserver: "no-such-tritonserver" })), (b) =>
      Effect.succeed(b.capabilities.gpus),
    );
    expect(fallback).toBe(false);
  }, 120_000);

  it("runs a sidecar beside each replica with the replica's addresses, and restarts the pair when the sidecar dies", async () => {
    const stateDir = tempDir("berth-process-sidecar-");
    const repository = tempDir("berth-process-repo-");
    await writeDemoRepository(repository);
    const withSidecar: ServerSpec = {
      ...spec("paired"),
      // No berthd listens there: the sidecar keeps retrying, which is all this test needs of it.
      sidecar: { berthd: "127.0.0.1:9", repositories: [{ name: "demo", location: repository }], cache: join(stateDir, "cache") },
    };
    await run(layerProcessWith(options(stateDir, { onClose: "stop" })), (backend) =>
      Effect.gen(function* () {
        yield* backend.ensureServer(withSidecar);
        const up = yield* awaitReady(backend, "paired", "90 seconds");
        const [server, sidecar] = pidsOf(stateDir, "paired");
        expect(sidecar).toBeDefined();
        const args = readFileSync(`/proc/${sidecar}/cmdline`, "utf8").split("\0");
        expect(args).toEqual(expect.arrayContaining(["--server-http", up.replicas[0].endpoints!.http, "--server-id", "paired", "--replica-id", "paired-0"]));
        expect(args).toContain(`demo=${repository}`);
        process.kill(sidecar, "SIGKILL");
        const back = yield* awaitServer(backend, "paired", (s) => s?.replicas[0]?.state === "Ready" && s.replicas[0].restarts === 1, "90 seconds");
        expect(back!.replicas[0].lastError?.message).toMatch(/sidecar ended by SIGKILL/);
        expect(isAlive(server)).toBe(false);
      }),
    );
  }, 180_000);

  it("ImageNotFound for a configured image whose executable is missing", async () => {
    const stateDir = tempDir("berth-process-image-");
    const error = await run(layerProcessWith(options(stateDir, { images: { ghost: { command: ["/no/such/server"] } } })), (backend) =>
      Effect.flip(backend.ensureServer({ ...spec("ghost"), image: "ghost" })).pipe(Effect.orDie),
    );
    expect(error.reason).toMatchObject({ _tag: "ImageNotFound", image: "ghost" });
  });
});
