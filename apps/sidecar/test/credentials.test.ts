import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSidecarGrpc, type SidecarServerStream } from "@berth/api/sidecar";
import { openBerthdStream } from "../src/connection.js";
import { FlagError, parseFlags } from "../src/flags.js";

// The sidecar's credentials: a token from the environment sent as bearer metadata, and TLS
// to berthd trusting a given CA, against a real TLS gRPC server playing berthd.

const dir = mkdtempSync(join(tmpdir(), "sidecar-tls-"));
const cert = join(dir, "berthd.pem");
const key = join(dir, "berthd.key");
execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=berthd", "-addext", "subjectAltName=DNS:berthd.internal,IP:127.0.0.1"], { stdio: "pipe" });

const base = ["--server-http", "127.0.0.1:8000", "--server-id", "s1", "--cache", "/var/cache/berth", "--repository", "demo=/srv/models", "--berthd", "127.0.0.1:1"];

describe("sidecar credential flags", () => {
  it("takes the token from BERTH_SIDECAR_TOKEN only, and the CA from a file or the PEM itself", () => {
    expect(parseFlags(base, {}).credentials).toEqual({});
    expect(parseFlags([...base, "--berthd-ca", cert], { BERTH_SIDECAR_TOKEN: "tok" }).credentials).toEqual({ token: "tok", berthdCa: readFileSync(cert, "utf8") });
    expect(parseFlags(base, { BERTH_SIDECAR_BERTHD_CA_PEM: "PEM", BERTH_SIDECAR_BERTHD_SERVER_NAME: "berthd.internal" }).credentials).toEqual({ berthdCa: "PEM", berthdServerName: "berthd.internal" });
    expect(parseFlags(base, { BERTH_SIDECAR_BERTHD_CA: cert }).credentials).toEqual({ berthdCa: readFileSync(cert, "utf8") });
    expect(() => parseFlags([...base, "--token", "tok"])).toThrow(/unknown flag --token/);
    expect(() => parseFlags([...base, "--berthd-ca", join(dir, "missing.pem")])).toThrow(FlagError);
  });
});

describe("openBerthdStream", () => {
  let server: grpc.Server;
  let port: number;
  const seen: unknown[][] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(loadSidecarGrpc().service, {
      Connect: (stream: SidecarServerStream) => {
        seen.push(stream.metadata.get("authorization"));
        stream.on("data", () => stream.write({ generation: 7, leases: [] }));
        stream.on("end", () => stream.end());
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(cert), private_key: readFileSync(key) }], false), (e, p) => (e ? reject(e) : resolve(p))),
    );
  });
  afterAll(() => server.forceShutdown());

  const firstAnswer = (address: string, credentials: Parameters<typeof openBerthdStream>[1]) => {
    const { client, stream } = openBerthdStream(address, credentials);
    return new Promise<{ generation: number } | { code: number }>((resolve) => {
      stream.on("data", (a: { generation: number }) => resolve(a));
      stream.on("error", (e: grpc.ServiceError) => resolve({ code: e.code }));
      stream.write({ hello: { server_id: "s1", replica_id: "s1-0", server_endpoint: "", loaded_models: [], generation: 0 } });
    }).finally(() => {
      stream.removeAllListeners();
      stream.on("error", () => undefined);
      stream.cancel();
      client.close();
    });
  };

  it("dials over TLS trusting the CA, with the token as bearer metadata", async () => {
    seen.length = 0;
    expect(await firstAnswer(`127.0.0.1:${port}`, { token: "tok-1", berthdCa: readFileSync(cert, "utf8") })).toEqual({ generation: 7, leases: [] });
    expect(seen).toEqual([["Bearer tok-1"]]);
  });

  it("checks the certificate against the expected server name", async () => {
    expect(await firstAnswer(`localhost:${port}`, { berthdCa: readFileSync(cert, "utf8"), berthdServerName: "berthd.internal" })).toMatchObject({ generation: 7 });
    expect(await firstAnswer(`127.0.0.1:${port}`, { berthdCa: readFileSync(cert, "utf8"), berthdServerName: "elsewhere.internal" })).toEqual({ code: grpc.status.UNAVAILABLE });
  });

  it("fails against a TLS berthd without a CA (plaintext), sending no token in the clear", async () => {
    seen.length = 0;
    expect(await firstAnswer(`127.0.0.1:${port}`, { token: "tok-2" })).toEqual({ code: grpc.status.UNAVAILABLE });
    expect(seen).toEqual([]);
  });
});
