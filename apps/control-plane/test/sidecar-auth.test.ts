import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSidecarGrpc, type SidecarClientStream } from "@berth/api/sidecar";
import { mintSidecarToken } from "../src/api/sidecar-auth.js";
import { loadConfig } from "../src/config/load.js";
import { specFromIntent } from "../src/executor/server-spec.js";
import { makeCertificates, type TestCertificates } from "./certificates.js";
import { startBerthd, tempStateDir, type RunningBerthd } from "./harness.js";

// Sidecars with credentials: per-server tokens minted from auth.sidecarSecret, over TLS when
// berthd has a certificate, on the API's own listener. Real berthd, real gRPC streams.

const SECRET = "sidecar-secret-for-tests-0123456789";
const AUTH = { tokens: [{ token: "admin-token", tenant: "ops", admin: true }], sidecarSecret: SECRET };
const hello = (serverId: string) => ({ hello: { server_id: serverId, replica_id: `${serverId}-0`, server_endpoint: "", loaded_models: [], generation: 0 } });

interface Dial {
  readonly token?: string;
  readonly ca?: Buffer;
}

/** Opens SidecarService.Connect, says Hello as `serverId`: the first assignment, or the status code the stream ended with. */
const connect = (address: string, serverId: string, dial: Dial = {}): Promise<{ readonly assignment: unknown } | { readonly code: number; readonly details: string }> => {
  const { Client } = loadSidecarGrpc();
  const client = new Client(address, dial.ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(dial.ca)) as unknown as grpc.Client & {
    Connect(metadata: grpc.Metadata, options: grpc.CallOptions): SidecarClientStream;
  };
  const metadata = new grpc.Metadata();
  if (dial.token !== undefined) metadata.set("authorization", `Bearer ${dial.token}`);
  const stream = client.Connect(metadata, { deadline: Date.now() + 5000 });
  return new Promise<{ assignment: unknown } | { code: number; details: string }>((resolve) => {
    stream.on("data", (assignment: unknown) => resolve({ assignment }));
    stream.on("error", (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
    stream.write(hello(serverId));
  }).finally(() => {
    stream.removeAllListeners();
    stream.on("error", () => undefined);
    stream.cancel();
    client.close();
  });
};

describe("sidecar tokens without TLS", () => {
  let berthd: RunningBerthd;
  beforeAll(async () => {
    berthd = await startBerthd({ config: { auth: AUTH } });
  }, 30_000);
  afterAll(async () => {
    await berthd?.stop();
  });

  it("serves SidecarService on the API's listener", () => {
    expect(berthd.sidecars).toBe(berthd.grpc);
  });

  it("refuses a sidecar without a token, or with one another secret minted, as UNAUTHENTICATED", async () => {
    expect(await connect(berthd.grpc, "srv-1")).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await connect(berthd.grpc, "srv-1", { token: mintSidecarToken("some-other-secret-0123456789", "srv-1") })).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await connect(berthd.grpc, "srv-1", { token: "admin-token" })).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("accepts the token minted for the server, and for that server only", async () => {
    const token = mintSidecarToken(SECRET, "srv-1");
    expect(await connect(berthd.grpc, "srv-1", { token })).toHaveProperty("assignment.generation");
    expect(await connect(berthd.grpc, "srv-2", { token })).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });
});

describe("sidecar tokens over TLS", () => {
  let berthd: RunningBerthd;
  let certs: TestCertificates;
  beforeAll(async () => {
    certs = makeCertificates(tempStateDir());
    berthd = await startBerthd({ config: { auth: AUTH, tls: { cert: certs.cert, key: certs.key, sidecarCa: certs.ca } } });
  }, 30_000);
  afterAll(async () => {
    await berthd?.stop();
  });

  it("serves sidecars that trust its CA and hold their token; no plaintext, no missing token", async () => {
    const ca = readFileSync(certs.ca);
    expect(berthd.sidecars).toBe(berthd.grpc);
    expect(await connect(berthd.grpc, "srv-1", { ca, token: mintSidecarToken(SECRET, "srv-1") })).toHaveProperty("assignment.generation");
    expect(await connect(berthd.grpc, "srv-1", { ca })).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await connect(berthd.grpc, "srv-1", { token: mintSidecarToken(SECRET, "srv-1") })).toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});

describe("sidecar tokens with mTLS", () => {
  let berthd: RunningBerthd;
  let certs: TestCertificates;
  beforeAll(async () => {
    certs = makeCertificates(tempStateDir());
    berthd = await startBerthd({ config: { auth: AUTH, tls: { cert: certs.cert, key: certs.key, clientCa: certs.ca, sidecarCa: certs.ca } } });
  }, 30_000);
  afterAll(async () => {
    await berthd?.stop();
  });

  it("gives sidecars a TLS listener of their own that asks for a token, not a client certificate", async () => {
    expect(berthd.sidecars).not.toBe(berthd.grpc);
    const ca = readFileSync(certs.ca);
    expect(await connect(berthd.sidecars, "srv-1", { ca, token: mintSidecarToken(SECRET, "srv-1") })).toHaveProperty("assignment.generation");
    expect(await connect(berthd.sidecars, "srv-1", { ca })).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });
});

describe("sidecar settings in the server spec", () => {
  const intent = {
    _tag: "EnsureServer" as const,
    serverId: "srv-9",
    node: "n1",
    gpus: [],
    template: { image: "", group: "onnxruntime", resources: { gpuMemory: 1, gpus: 0, gpuMilli: 0, cpu: 1000, memory: 1, gpuModels: [] } },
    replicas: 1,
    placements: [],
  };

  it("carries the server's own token and berthd's CA when sidecars authenticate over TLS", async () => {
    const certs = makeCertificates(tempStateDir());
    const config = await Effect.runPromise(
      loadConfig({ inline: { backend: { kind: "process" }, auth: { sidecarSecretEnv: "SIDECAR_SECRET" }, tls: { cert: certs.cert, key: certs.key, sidecarCa: certs.ca, sidecarServerName: "berthd.local" } }, env: { SIDECAR_SECRET: SECRET }, cwd: tempStateDir() }),
    );
    const spec = specFromIntent(intent as never, config, "127.0.0.1:50051");
    expect(spec.sidecar?.token).toBe(mintSidecarToken(SECRET, "srv-9"));
    expect(spec.sidecar?.berthdCa).toBe(readFileSync(certs.ca, "utf8"));
    expect(spec.sidecar?.berthdServerName).toBe("berthd.local");
    expect(config.sidecarListen).toBeUndefined();
    // main.ts removes it from its environment once read: the process backend's children inherit the rest.
    expect(config.secretEnv).toEqual(["SIDECAR_SECRET"]);
  });

  it("carries nothing without a sidecar secret, and keeps such sidecars on a loopback listener when auth is on", async () => {
    const config = await Effect.runPromise(loadConfig({ inline: { backend: { kind: "process" }, auth: { tokens: [{ token: "t", tenant: "a" }] } }, cwd: tempStateDir() }));
    const spec = specFromIntent(intent as never, config, "127.0.0.1:50051");
    expect(spec.sidecar?.token).toBeUndefined();
    expect(spec.sidecar?.berthdCa).toBeUndefined();
    expect(config.sidecarListen).toBe("127.0.0.1:0");
  });

  it("reports a bad sidecar secret setting with its key path", async () => {
    const failure = await Effect.runPromise(Effect.flip(loadConfig({ inline: { auth: { sidecarSecretEnv: "MISSING_SECRET" } }, env: {}, cwd: tempStateDir() })));
    expect(failure.problems).toEqual([{ path: "auth.sidecarSecretEnv", message: "environment variable MISSING_SECRET is not set" }]);
    const short = await Effect.runPromise(Effect.flip(loadConfig({ inline: { auth: { sidecarSecret: "short" } }, cwd: tempStateDir() })));
    expect(short.problems).toContainEqual({ path: "auth.sidecarSecret", message: "a sidecar secret has at least 16 characters" });
  });
});
