// Certificates for TLS tests, made by openssl: a CA, and a server and a client certificate it
// signed for 127.0.0.1 and localhost.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

export interface TestCertificates {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export const makeCertificates = (dir: string): TestCertificates => {
  const file = (name: string) => join(dir, name);
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "1", "-subj", "/CN=berth-test-ca");
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const who of ["server", "client"]) {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file(`${who}.key`), "-out", file(`${who}.csr`), "-subj", `/CN=${who}`);
    openssl("x509", "-req", "-in", file(`${who}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file(`${who}.pem`), "-days", "1", "-extfile", file("san.ext"));
  }
  return { ca: file("ca.pem"), cert: file("server.pem"), key: file("server.key"), clientCert: file("client.pem"), clientKey: file("client.key") };
};
