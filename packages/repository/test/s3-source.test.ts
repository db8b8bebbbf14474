// S3 against a real S3-compatible server running here: moto's standalone server (moto_server,
// from Python's moto), with authentication on: after the first three (IAM) actions it checks
// every request's SigV4 signature and the user's policy. Skipped, saying so, without moto_server.
import { createHash } from "node:crypto";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";
import { mkdtemp, readFile, rm, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDemoRepository } from "../src/demo/demo-repository.js";
import { ModelPuller } from "../src/pull/model-puller.js";
import { localModelSource } from "../src/sources/local-source.js";
import { openModelSource } from "../src/sources/open-source.js";
import { parseS3Location, publishRepositoryToS3, s3ModelSource, type S3Options } from "../src/sources/s3/s3-source.js";
import { signV4 } from "../src/sources/s3/sigv4.js";

const hasMoto = (() => {
  try {
    execFileSync("sh", ["-c", "command -v moto_server"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
// In CI the real server is required (the node machine image ships moto): a missing one fails.
if (!hasMoto && process.env.CI) throw new Error("moto_server is required in CI for the S3 repository tests");
if (!hasMoto) console.warn("s3-source.test: moto_server is not installed (pip install 'moto[server]'); the S3 tests are skipped");

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

let moto: ChildProcess | undefined;
let options: S3Options;
let repo: string;

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve(true);
    }).on("error", () => resolve(false));
  });

/** The three unauthenticated actions moto allows: a user, a policy allowing s3:*, and an access key. */
async function createS3User(endpoint: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const iam = async (params: Record<string, string>): Promise<string> => {
    const body = new URLSearchParams({ ...params, Version: "2010-05-08" }).toString();
    const url = new URL(`${endpoint}/`);
    const headers = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };
    const payloadHash = createHash("sha256").update(body).digest("hex");
    // moto picks the service from the credential scope; these first actions are not checked.
    const signed = signV4({ method: "POST", url, headers, payloadHash, service: "iam", region: "us-east-1", credentials: { accessKeyId: "bootstrap", secretAccessKey: "bootstrap" }, now: new Date() });
    const res = await fetch(url, { method: "POST", headers: { ...headers, ...signed }, body });
    if (!res.ok) throw new Error(`IAM ${params.Action}: HTTP ${res.status}`);
    return res.text();
  };
  await iam({ Action: "CreateUser", UserName: "berth" });
  await iam({ Action: "PutUserPolicy", UserName: "berth", PolicyName: "s3", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) });
  const xml = await iam({ Action: "CreateAccessKey", UserName: "berth" });
  return { accessKeyId: /<AccessKeyId>([^<]+)/.exec(xml)![1], secretAccessKey: /<SecretAccessKey>([^<]+)/.exec(xml)![1] };
}

beforeAll(async () => {
  if (!hasMoto) return;
  const port = await freePort();
  moto = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore", env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: "3" } });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await listening(port)); i++) {
    if (i > 300) throw new Error("moto_server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  options = { endpoint, region: "us-east-1", credentials: await createS3User(endpoint) };
  repo = await mkdtemp(join(tmpdir(), "berth-s3-repo-"));
  await writeDemoRepository(repo, { models: ["simple", "mlp_fp32"] });
  await publishRepositoryToS3(repo, "s3://berth-models/team/demo", { ...options, createBucket: true });
}, 60_000);

afterAll(async () => {
  moto?.kill();
  if (repo) await rm(repo, { recursive: true, force: true });
});

describe("S3 locations", () => {
  it("parse s3://bucket/prefix", () => {
    expect(parseS3Location("s3://berth-models/team/demo/")).toEqual({ bucket: "berth-models", prefix: "team/demo" });
    expect(parseS3Location("s3://berth-models")).toEqual({ bucket: "berth-models", prefix: "" });
    expect(() => parseS3Location("s3://")).toThrow(/s3:\/\/BUCKET/);
  });
});

describe.skipIf(!hasMoto)("an S3 repository on an S3-compatible server (moto_server)", () => {
  it("lists, stats and lists files exactly as the local directory it was published from", async () => {
    const s3 = s3ModelSource("s3://berth-models/team/demo", options);
    const local = localModelSource(repo);
    expect(await s3.listModels()).toEqual(["mlp_fp32", "simple"]);
    const stat = await s3.statModel("simple");
    expect(stat).toMatchObject({ name: "simple", group: "onnxruntime", versions: [1], sizeBytes: (await local.statModel("simple")).sizeBytes });
    expect(await s3.listFiles("simple")).toEqual(await local.listFiles("simple"));
  });

  it("pulls into the cache through the env-configured source, byte for byte", async () => {
    const env = { AWS_ENDPOINT_URL: options.endpoint, AWS_ACCESS_KEY_ID: options.credentials!.accessKeyId, AWS_SECRET_ACCESS_KEY: options.credentials!.secretAccessKey };
    const source = openModelSource({ name: "bucket", location: "s3://berth-models/team/demo" }, undefined, env);
    const cache = await mkdtemp(join(tmpdir(), "berth-s3-cache-"));
    try {
      const result = await new ModelPuller(cache).pull({ repository: "bucket", source, model: "mlp_fp32" });
      expect((await readFile(join(result.directory, "1", "model.onnx"))).equals(await readFile(join(repo, "mlp_fp32", "1", "model.onnx")))).toBe(true);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it("an object changed behind the index fails the pull with ChecksumMismatch and leaves nothing", async () => {
    const tampered = await mkdtemp(join(tmpdir(), "berth-s3-tampered-"));
    const cache = await mkdtemp(join(tmpdir(), "berth-s3-cache-"));
    try {
      await writeDemoRepository(tampered, { models: ["simple"] });
      await publishRepositoryToS3(tampered, "s3://berth-models/tampered", options);
      // Re-upload only the model file, with one byte flipped; index.json still lists the old sha256.
      const bytes = await readFile(join(tampered, "simple", "1", "model.onnx"));
      bytes[0] ^= 0x01;
      const { s3Fetch } = await import("../src/sources/s3/s3-source.js");
      expect((await s3Fetch(options, "PUT", new URL(`${options.endpoint}/berth-models/tampered/simple/1/model.onnx`), bytes)).ok).toBe(true);
      await expect(new ModelPuller(cache).pull({ repository: "t", source: s3ModelSource("s3://berth-models/tampered", options), model: "simple" }))
        .rejects.toMatchObject({ reason: "ChecksumMismatch", file: "1/model.onnx" });
      expect(await readdir(join(cache, ".tmp"))).toEqual([]);
    } finally {
      await rm(tampered, { recursive: true, force: true });
      await rm(cache, { recursive: true, force: true });
    }
  });

  it("the server checks the signatures: a wrong secret and an anonymous request are refused", async () => {
    const wrong = s3ModelSource("s3://berth-models/team/demo", { ...options, credentials: { ...options.credentials!, secretAccessKey: "wrong" } });
    await expect(wrong.listModels()).rejects.toMatchObject({ reason: "Io", message: expect.stringMatching(/HTTP 403 SignatureDoesNotMatch .*credentials/) });
    const anonymous = s3ModelSource("s3://berth-models/team/demo", { endpoint: options.endpoint, region: "us-east-1" });
    await expect(anonymous.listModels()).rejects.toMatchObject({ message: expect.stringMatching(/HTTP 403/) });
  });

  it("a bucket that does not exist is a clear error with S3's code", async () => {
    await expect(s3ModelSource("s3://no-such-bucket/x", options).listModels()).rejects.toMatchObject({
      reason: "Io",
      message: expect.stringMatching(/s3:\/\/no-such-bucket\/x\/index.json: HTTP 404 NoSuchBucket/),
    });
  });
});
