import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBerthClient } from "@berth/api/berth";
import { codeOf, startBerthd, tempStateDir, type RunningBerthd } from "./harness.js";

// TLS and mutual TLS on the gRPC API, with certificates made by openssl for the test.

const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

const makeCertificates = (dir: string) => {
  const file = (name: string) => join(dir, name);
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "1", "-subj", "/CN=berth-test-ca");
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const who of ["server", "client"]) {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file(`${who}.key`), "-out", file(`${who}.csr`), "-subj", `/CN=${who}`);
    openssl("x509", "-req", "-in", file(`${who}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file(`${who}.pem`), "-days", "1", "-extfile", file("san.ext"));
  }
  return { ca: file("ca.pem"), cert: file("server.pem"), key: file("server.key"), clientCert: file("client.pem"), clientKey: file("client.key") };
};

describe("TLS and mTLS", () => {
  let berthd: RunningBerthd;
  let certs: ReturnType<typeof makeCertificates>;
  beforeAll(async () => {
    certs = makeCertificates(tempStateDir());
    berthd = await startBerthd({ config: { tls: { cert: certs.cert, key: certs.key, clientCa: certs.ca } } });
  }, 30_000);
  afterAll(async () => {
    await berthd?.stop();
  });

  it("serves clients that present a certificate the client CA signed, and no others", async () => {
    const ca = readFileSync(certs.ca);
    const trusted = createBerthClient(berthd.grpc, { tls: { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } });
    const anonymous = createBerthClient(berthd.grpc, { tls: { ca }, callTimeoutMs: 3000 });
    const plaintext = createBerthClient(berthd.grpc, { callTimeoutMs: 3000 });
    try {
      expect((await trusted.allowlist.list()).images).toContain("berth-model-server");
      expect(await codeOf(anonymous.allowlist.list())).toBe(grpc.status.UNAVAILABLE);
      expect(await codeOf(plaintext.allowlist.list())).toBe(grpc.status.UNAVAILABLE);
    } finally {
      for (const c of [trusted, anonymous, plaintext]) c.close();
    }
  });
});
