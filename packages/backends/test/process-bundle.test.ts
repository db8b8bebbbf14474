// The pre-built bundles the process backend starts its model server and sidecar from: built
// once, reused while the sources are unchanged, rebuilt when one changes, safe to ask for from
// several callers at once; and the real model server and sidecar run and serve from them.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Effect, Either, type Layer } from "effect";
import { createKServeClient } from "@berth/api/kserve";
import { writeDemoRepository } from "@berth/repository";
import { afterAll, describe, expect, it } from "vitest";
import { awaitReady } from "../src/await.js";
import { Backend } from "../src/backend.js";
import type { BackendError } from "../src/errors.js";
import { BUNDLE_ENTRIES, type BundleLocation, defaultBundleLocation, ensureBundle, freshBundle } from "../src/process/bundle.js";
import { layerProcessWith } from "../src/process/process-backend.js";
import { builtinCommand, ENV_PROCESS_RUNTIME, REPO_ROOT } from "../src/process/runtime.js";
import { readStateFile } from "../src/process/state-file.js";

const temporary: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** A small tree shaped like the repository: the model server's entry imports a module beside it. */
function fakeTree(answer: number): BundleLocation & { readonly dependency: string; readonly entry: string } {
  const root = tempDir("berth-bundle-root-");
  const entry = join(root, BUNDLE_ENTRIES["model-server"]);
  mkdirSync(join(entry, ".."), { recursive: true });
  const dependency = join(entry, "../answer.ts");
  writeFileSync(dependency, `export const answer: number = ${answer};\n`);
  writeFileSync(entry, `import { answer } from "./answer.js";\nprocess.stdout.write(JSON.stringify({ answer, url: import.meta.url, argv: process.argv.slice(2) }));\n`);
  return { root, dir: join(root, "cache"), dependency, entry };
}

/** Runs a bundle with node and returns what it printed. */
function runBundle(bundle: string, ...args: string[]): Promise<{ answer: number; url: string; argv: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as { answer: number; url: string; argv: string[] }) : reject(new Error(`exit ${code}`))));
  });
}

const bundleFiles = (at: BundleLocation): string[] => readdirSync(at.dir).filter((f) => f.endsWith(".mjs"));

describe("bundles", () => {
  it("builds one, reuses it while the sources are unchanged (touched or not), and rebuilds when one changes", async () => {
    const tree = fakeTree(1);
    expect(freshBundle("model-server", tree)).toBeUndefined();
    const first = await ensureBundle("model-server", tree);
    expect(await runBundle(first, "--flag")).toEqual({ answer: 1, url: pathToFileURL(tree.entry).href, argv: ["--flag"] });
    expect(freshBundle("model-server", tree)).toBe(first);

    const manifest = readFileSync(join(tree.dir, "model-server.json"), "utf8");
    expect(await ensureBundle("model-server", tree)).toBe(first);
    // Touched, same content (a checkout): still fresh, not rebuilt.
    utimesSync(tree.dependency, new Date(), new Date(Date.now() + 5_000));
    expect(freshBundle("model-server", tree)).toBe(first);
    expect(await ensureBundle("model-server", tree)).toBe(first);
    expect(readFileSync(join(tree.dir, "model-server.json"), "utf8")).toBe(manifest);

    writeFileSync(tree.dependency, "export const answer: number = 2;\n");
    expect(freshBundle("model-server", tree)).toBeUndefined();
    const second = await ensureBundle("model-server", tree);
    expect(second).not.toBe(first);
    expect((await runBundle(second)).answer).toBe(2);
    expect(freshBundle("model-server", tree)).toBe(second);
    // The bundle it replaced stays: a backend may be starting a replica from it right now.
    expect(existsSync(first)).toBe(true);
  });

  it("builds once when several callers ask at the same time, and all get the same bundle", async () => {
    const tree = fakeTree(3);
    const bundles = await Promise.all(Array.from({ length: 6 }, () => ensureBundle("model-server", tree)));
    expect(new Set(bundles).size).toBe(1);
    expect(bundleFiles(tree)).toHaveLength(1);
    expect(readdirSync(tree.dir).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock"))).toEqual([]);
    expect((await runBundle(bundles[0]!)).answer).toBe(3);
  });

  it("takes over a lock whose builder died, and builds anyway after waiting on a live one too long", async () => {
    const tree = fakeTree(5);
    const dead = spawn(process.execPath, ["-e", "0"]);
    await new Promise((resolve) => dead.once("exit", resolve));
    mkdirSync(join(tree.dir, "model-server.lock"), { recursive: true });
    writeFileSync(join(tree.dir, "model-server.lock", "pid"), String(dead.pid));
    // Waiting on it would take the whole wait: a dead owner's lock is taken at once.
    expect((await runBundle(await ensureBundle("model-server", tree, 60_000))).answer).toBe(5);

    writeFileSync(tree.dependency, "export const answer: number = 6;\n");
    mkdirSync(join(tree.dir, "model-server.lock"));
    writeFileSync(join(tree.dir, "model-server.lock", "pid"), String(process.pid));
    const started = Date.now();
    expect((await runBundle(await ensureBundle("model-server", tree, 300))).answer).toBe(6);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  }, 30_000);

  it("a missing source means the bundle is stale", async () => {
    const tree = fakeTree(4);
    await ensureBundle("model-server", tree);
    rmSync(tree.dependency);
    expect(freshBundle("model-server", tree)).toBeUndefined();
  });
});

// The real programs: the repository's bundles (the same cache the backend uses).
const REAL = defaultBundleLocation(REPO_ROOT);

const INPUT0 = Array.from({ length: 16 }, (_, i) => i);
const INPUT1 = Array.from({ length: 16 }, () => 1);

async function post(url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: body === undefined ? "" : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

describe("the model server and sidecar from their bundles", () => {
  it("the model server bundle loads and serves `simple` over HTTP and gRPC", async () => {
    const bundle = await ensureBundle("model-server", REAL);
    const repository = tempDir("berth-bundle-repo-");
    await writeDemoRepository(repository, { models: ["simple"] });
    const child = spawn(process.execPath, [bundle, `--model-repository=${repository}`, "--model-control-mode=explicit", "--http-port=0", "--grpc-port=0", "--metrics-port=0", "--http-address=127.0.0.1", "--grpc-address=127.0.0.1", "--metrics-address=127.0.0.1"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const { http, grpc } = await new Promise<{ http: number; grpc: number }>((resolve, reject) => {
        child.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString().split("\n")[0]!) as { http: number; grpc: number }));
        child.once("exit", (code) => reject(new Error(`model server exited with ${code}`)));
      });
      const base = `http://127.0.0.1:${http}`;
      expect((await post(`${base}/v2/repository/models/simple/load`)).status).toBe(200);
      const answer = await post(`${base}/v2/models/simple/infer`, {
        inputs: [
          { name: "INPUT0", shape: [1, 16], datatype: "INT32", data: INPUT0 },
          { name: "INPUT1", shape: [1, 16], datatype: "INT32", data: INPUT1 },
        ],
      });
      expect(answer.status).toBe(200);
      const outputs = (answer.json as { outputs: { name: string; data: number[] }[] }).outputs;
      expect(outputs.find((o) => o.name === "OUTPUT0")?.data).toEqual(INPUT0.map((x) => x + 1));
      expect(outputs.find((o) => o.name === "OUTPUT1")?.data).toEqual(INPUT0.map((x) => x - 1));
      // gRPC too: its service definition is read from the proto files beside @berth/api's source.
      const client = createKServeClient(`127.0.0.1:${grpc}`);
      try {
        expect((await client.modelReady({ name: "simple", version: "" })).ready).toBe(true);
      } finally {
        client.close();
      }
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  it("the process backend starts both from their bundles once built, and from tsx when BERTH_PROCESS_RUNTIME=tsx", async () => {
    const modelServer = await ensureBundle("model-server", REAL);
    const sidecar = await ensureBundle("sidecar", REAL);
    expect(builtinCommand("model-server", REAL)).toEqual([process.execPath, modelServer]);
    const saved = process.env[ENV_PROCESS_RUNTIME];
    process.env[ENV_PROCESS_RUNTIME] = "tsx";
    try {
      expect(builtinCommand("sidecar", REAL)).toEqual([process.execPath, "--import", "tsx", join(REPO_ROOT, BUNDLE_ENTRIES.sidecar)]);
    } finally {
      if (saved === undefined) delete process.env[ENV_PROCESS_RUNTIME];
      else process.env[ENV_PROCESS_RUNTIME] = saved;
    }

    const stateDir = tempDir("berth-bundle-backend-");
    const repository = tempDir("berth-bundle-repo-");
    const layer: Layer.Layer<Backend, BackendError> = layerProcessWith({ stateDir, onClose: "stop", stopGraceMs: 3000 });
    const program = Effect.gen(function* () {
      const backend = yield* Backend;
      yield* backend.ensureServer({
        serverId: "bundled",
        image: "berth-model-server",
        group: "onnxruntime",
        node: "local",
        gpus: [],
        resources: { gpuMemory: 0, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 512 * 1024 * 1024, gpuModels: [] },
        replicas: 1,
        labels: {},
        // No berthd listens there: the sidecar keeps retrying, which is all this test needs of it.
        sidecar: { berthd: "127.0.0.1:9", repositories: [{ name: "demo", location: repository }], cache: join(stateDir, "cache") },
      });
      const up = yield* awaitReady(backend, "bundled", "60 seconds");
      const live = yield* Effect.promise(() => fetch(`http://${up.replicas[0]!.endpoints!.http}/v2/health/live`));
      expect(live.status).toBe(200);
      const state = readStateFile(stateDir);
      if (Either.isLeft(state)) throw new Error(state.left);
      const replica = state.right.servers[0]!.replicas[0]!;
      const commandOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 2);
      expect(commandOf(replica.server)).toEqual([process.execPath, modelServer]);
      expect(commandOf(replica.sidecar!)).toEqual([process.execPath, sidecar]);
    });
    await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer))));
  }, 120_000);
});
