import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDemoRepository } from "../src/demo/demo-repository.js";
import { httpModelSource } from "../src/sources/http-source.js";
import { serveRepositoryOverHttp, type RepositoryHttpServer } from "../src/sources/http-serve.js";
import { localModelSource } from "../src/sources/local-source.js";
import { filesForVersions, isSafeRelativePath } from "../src/sources/model-source.js";
import { openModelSource, parseRepositorySpec, repositoryAuthEnvVar } from "../src/sources/open-source.js";

let dir: string;
let served: RepositoryHttpServer;
const AUTH = { name: "Authorization", value: "Bearer s3cret" };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-sources-"));
  await writeDemoRepository(dir, { models: ["simple", "mlp_fp32", "broken"] });
  served = await serveRepositoryOverHttp(dir, { requireHeader: AUTH });
});
afterAll(async () => {
  await served.close();
  await rm(dir, { recursive: true, force: true });
});

const sha = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");
const collect = async (it: AsyncIterable<Uint8Array>) => {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
};

describe("local and HTTP sources agree on the same repository", () => {
  const sources = () => [localModelSource(dir), httpModelSource(served.url, { headers: { authorization: AUTH.value } })];

  it("lists models, stats them for the control plane, and lists files with their real SHA-256", async () => {
    for (const source of sources()) {
      expect(await source.listModels()).toEqual(["broken", "mlp_fp32", "simple"]);
      const simple = await source.statModel("simple");
      expect(simple).toMatchObject({ name: "simple", group: "onnxruntime", versions: [1] });
      expect(simple.config.platform).toBe("onnxruntime_onnx");
      const files = await source.listFiles("simple");
      expect(files.map((f) => f.path)).toEqual(["1/model.onnx", "config.pbtxt"]);
      expect(simple.sizeBytes).toBe(files.find((f) => f.path === "1/model.onnx")!.size);
      for (const f of files) expect(f.sha256).toBe(await sha(join(dir, "simple", ...f.path.split("/"))));
      const bytes = await collect(await source.readFile("simple", "1/model.onnx"));
      expect(bytes.equals(await readFile(join(dir, "simple", "1", "model.onnx")))).toBe(true);
    }
  });

  it("reports a missing model as ModelNotFound", async () => {
    for (const source of sources()) {
      await expect(source.statModel("nope")).rejects.toMatchObject({ _tag: "RepositoryError", reason: "ModelNotFound" });
    }
  });
});

describe("the HTTP source", () => {
  it("sends its auth header; without it the server's 401 comes back as a clear error", async () => {
    const anonymous = httpModelSource(served.url);
    await expect(anonymous.listModels()).rejects.toMatchObject({ reason: "Io", message: expect.stringMatching(/HTTP 401 .*auth header/) });
  });

  it("says which URL could not be reached", async () => {
    const nowhere = httpModelSource("http://127.0.0.1:9/repo");
    await expect(nowhere.statModel("simple")).rejects.toMatchObject({ reason: "Io", message: expect.stringContaining("http://127.0.0.1:9/repo/index.json") });
  });
});

describe("repository specs", () => {
  it("parse NAME=DIR|URL and pick the source kind", () => {
    expect(parseRepositorySpec("demo=/srv/m")).toEqual({ name: "demo", location: "/srv/m" });
    expect(openModelSource(parseRepositorySpec("hub=https://x.example/r/"), "Authorization: Bearer t").kind).toBe("http");
    expect(openModelSource(parseRepositorySpec("demo=./m")).kind).toBe("local");
    expect(() => parseRepositorySpec("/srv/m")).toThrow(/NAME=DIR/);
    expect(openModelSource(parseRepositorySpec("s=s3://bucket/x"), undefined, { AWS_ENDPOINT_URL: "http://127.0.0.1:9000" }).kind).toBe("s3");
    expect(() => openModelSource(parseRepositorySpec("g=gs://bucket/x"))).toThrow(/s3:\/\/bucket\/prefix/);
    expect(repositoryAuthEnvVar("my-hub")).toBe("BERTH_REPOSITORY_AUTH_MY_HUB");
  });

  it("file paths from a listing are kept inside the model directory", () => {
    for (const bad of ["", "/etc/passwd", "../x", "1/../../x", "a//b", "a\\b", "./a"]) expect(isSafeRelativePath(bad)).toBe(false);
    expect(isSafeRelativePath("1/model.onnx")).toBe(true);
    const f = (path: string) => ({ path, size: 1, sha256: "" });
    expect(filesForVersions([f("config.pbtxt"), f("1/a"), f("2/a"), f("labels.txt")], [2]).map((x) => x.path)).toEqual(["config.pbtxt", "2/a", "labels.txt"]);
  });
});
