import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBerthClient, type BerthClient } from "@berth/api/berth";
import { makeCertificates, type TestCertificates } from "./certificates.js";
import { collect, startBerthd, tempStateDir, type RunningBerthd } from "./harness.js";

// The whole stack with credentials: berthd with auth tokens, TLS and a sidecar secret; the
// process backend starts the model server and berth-sidecar, which dials berthd's one
// authenticated TLS listener with the token berthd minted for its server (from its environment,
// not its command line). The lease becomes Ready only if that worked.

const SECRET = "process-sidecar-secret-0123456789";

/** The command lines and environments of this berthd's sidecars (found by their cache flag). */
const sidecarProcesses = (stateDir: string): { readonly cmdline: string; readonly environ: string }[] => {
  try {
    const pids = execFileSync("pgrep", ["-f", "--", `--cache ${stateDir}/cache`], { encoding: "utf8" }).trim().split("\n").filter((l) => l !== "");
    return pids.map((pid) => ({ cmdline: readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "), environ: readFileSync(`/proc/${pid}/environ`, "utf8").replace(/\0/g, "\n") }));
  } catch {
    return [];
  }
};

describe("process backend sidecars with a token over TLS", () => {
  let berthd: RunningBerthd;
  let certs: TestCertificates;
  let client: BerthClient;
  beforeAll(async () => {
    certs = makeCertificates(tempStateDir());
    berthd = await startBerthd({
      config: {
        backend: { kind: "process" },
        nodes: [{ name: "local", gpus: [{ memory: "4Gi" }] }],
        auth: { tokens: [{ token: "ops-token", tenant: "ops", admin: true }], sidecarSecret: SECRET },
        tls: { cert: certs.cert, key: certs.key, sidecarCa: certs.ca },
      },
    });
    client = createBerthClient(berthd.grpc, { token: "ops-token", tls: { ca: readFileSync(certs.ca) } });
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await berthd?.stop();
  });

  it("loads the lease's model through a sidecar that authenticated over TLS", async () => {
    expect(berthd.sidecars).toBe(berthd.grpc);
    const progress = await collect(client.lease.create({ spec: { name: "secured", models: [{ name: "simple" }], resources: { gpuMemory: "512Mi" } }, wait: true, waitTimeout: { seconds: 60, nanos: 0 } }));
    expect(progress.at(-1)?.lease?.phase).toBe("LEASE_PHASE_READY");
    const sidecars = sidecarProcesses(berthd.stateDir);
    expect(sidecars.length).toBeGreaterThan(0);
    for (const sidecar of sidecars) {
      expect(sidecar.cmdline).not.toContain("bst1.");
      expect(sidecar.environ).toMatch(/^BERTH_SIDECAR_TOKEN=bst1\./m);
      expect(sidecar.environ).toContain("BERTH_SIDECAR_BERTHD_CA_PEM=-----BEGIN CERTIFICATE-----");
    }
    await client.lease.release({ name: "secured" });
  }, 90_000);
});
