import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDemoRepository } from "../src/demo/demo-repository.js";
import { readLocalModel } from "../src/local-directory.js";
import { ModelPuller, PULL_RECORD_FILE } from "../src/pull/model-puller.js";
import { httpModelSource } from "../src/sources/http-source.js";
import { serveRepositoryOverHttp, type RepositoryHttpServer } from "../src/sources/http-serve.js";
import { localModelSource } from "../src/sources/local-source.js";

let repo: string;
let served: RepositoryHttpServer;

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "berth-pull-repo-"));
  await writeDemoRepository(repo, { models: ["simple", "mlp_fp32"] });
  served = await serveRepositoryOverHttp(repo);
});
afterAll(async () => {
  await served.close();
  await rm(repo, { recursive: true, force: true });
});

const newCache = () => mkdtemp(join(tmpdir(), "berth-pull-cache-"));

describe("pulling a model into the cache", () => {
  it("over HTTP: lands as {cache}/{repo}/{model}, readable as a Triton model, identical bytes", async () => {
    const cache = await newCache();
    const puller = new ModelPuller(cache);
    const result = await puller.pull({ repository: "hub", source: httpModelSource(served.url), model: "mlp_fp32" });
    expect(result.directory).toBe(join(cache, "hub", "mlp_fp32"));
    expect(result.fromCache).toBe(false);
    const local = await readLocalModel(join(cache, "hub"), "mlp_fp32");
    expect(local.versions.map((v) => v.version)).toEqual([1]);
    expect((await readFile(local.versions[0].modelFile)).equals(await readFile(join(repo, "mlp_fp32", "1", "model.onnx")))).toBe(true);
    expect(await readdir(join(cache, ".tmp"))).toEqual([]);
    await rm(cache, { recursive: true, force: true });
  });

  it("shares one download between concurrent pulls, and reuses an unchanged cached copy", async () => {
    const cache = await newCache();
    const puller = new ModelPuller(cache);
    const source = httpModelSource(served.url);
    const before = served.requests.filter((p) => p === "/simple/1/model.onnx").length;
    const [a, b] = await Promise.all([puller.pull({ repository: "hub", source, model: "simple" }), puller.pull({ repository: "hub", source, model: "simple" })]);
    expect(a).toBe(b);
    expect(served.requests.filter((p) => p === "/simple/1/model.onnx").length - before).toBe(1);
    const again = await puller.pull({ repository: "hub", source, model: "simple" });
    expect(again.fromCache).toBe(true);
    expect(served.requests.filter((p) => p === "/simple/1/model.onnx").length - before).toBe(1);
    await rm(cache, { recursive: true, force: true });
  });

  it("from a local directory: checksums are computed from the source and checked on the copy", async () => {
    const cache = await newCache();
    const result = await new ModelPuller(cache).pull({ repository: "demo", source: localModelSource(repo), model: "simple" });
    const record = JSON.parse(await readFile(join(result.directory, PULL_RECORD_FILE), "utf8")) as { files: { path: string; sha256: string }[] };
    expect(record.files.map((f) => f.path)).toEqual(["1/model.onnx", "config.pbtxt"]);
    expect(record.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    await rm(cache, { recursive: true, force: true });
  });

  it("a file that does not match the index's sha256 fails with a clear error and leaves no partial model", async () => {
    const corruptRepo = await mkdtemp(join(tmpdir(), "berth-pull-corrupt-"));
    await writeDemoRepository(corruptRepo, { models: ["simple"] });
    const server = await serveRepositoryOverHttp(corruptRepo);
    const cache = await newCache();
    try {
      // Same size, different bytes: only the checksum can tell.
      const file = join(corruptRepo, "simple", "1", "model.onnx");
      const bytes = await readFile(file);
      bytes[bytes.length - 1] ^= 0xff;
      await writeFile(file, bytes);
      const error = await new ModelPuller(cache).pull({ repository: "hub", source: httpModelSource(server.url), model: "simple" }).catch((e: unknown) => e);
      expect(error).toMatchObject({ _tag: "PullError", reason: "ChecksumMismatch", model: "simple", file: "1/model.onnx" });
      expect((error as Error).message).toMatch(/sha256 [0-9a-f]{64} does not match the listed [0-9a-f]{64}; the download was discarded/);
      expect(await readdir(cache)).toEqual([".tmp"]);
      expect(await readdir(join(cache, ".tmp"))).toEqual([]);

      // A truncated file is caught by its size first.
      await writeFile(file, bytes.subarray(0, 10));
      await expect(new ModelPuller(cache).pull({ repository: "hub", source: httpModelSource(server.url), model: "simple" }))
        .rejects.toMatchObject({ reason: "SizeMismatch", message: expect.stringMatching(/expected \d+ bytes, got 10/) });
    } finally {
      await server.close();
      await rm(corruptRepo, { recursive: true, force: true });
      await rm(cache, { recursive: true, force: true });
    }
  });

  it("replaces a cached copy when the repository's files change", async () => {
    const changing = await mkdtemp(join(tmpdir(), "berth-pull-change-"));
    await writeDemoRepository(changing, { models: ["simple"] });
    const cache = await newCache();
    const puller = new ModelPuller(cache);
    const source = localModelSource(changing);
    await puller.pull({ repository: "demo", source, model: "simple" });
    await writeFile(join(changing, "simple", "labels.txt"), "a\nb\n");
    const second = await puller.pull({ repository: "demo", source, model: "simple" });
    expect(second.fromCache).toBe(false);
    expect(await readFile(join(second.directory, "labels.txt"), "utf8")).toBe("a\nb\n");
    expect(await readdir(join(cache, ".tmp"))).toEqual([]);
    await rm(changing, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it("a model the repository lacks is a Source error naming it", async () => {
    const cache = await newCache();
    await expect(new ModelPuller(cache).pull({ repository: "hub", source: httpModelSource(served.url), model: "ghost" }))
      .rejects.toMatchObject({ _tag: "PullError", reason: "Source", message: expect.stringContaining("'ghost'") });
    await rm(cache, { recursive: true, force: true });
  });
});
