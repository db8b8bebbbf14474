import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { usePeer } from "./peer-session.js";

// `berth lease create --autoscaling-mode hpa|builtin`: who scales the lease, sent as
// LeaseSpec.autoscaling.mode (empty: the backend's default).

const session = usePeer();
const berth = session.berth;

const sentAutoscaling = (): unknown =>
  (session.peer.calls.filter((c) => c.method === "LeaseService.Create").at(-1)?.request as { spec: { autoscaling: unknown } } | undefined)?.spec.autoscaling;
const scaled = ["-m", "simple", "--max-replicas", "3", "--metric", "inflight", "--target", "4"];

describe("berth lease create --autoscaling-mode", () => {
  it.each(["hpa", "builtin"])("sends --autoscaling-mode %s as autoscaling.mode", async (mode) => {
    const run = await berth("lease", "create", `chat-${mode}`, ...scaled, "--autoscaling-mode", mode);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(sentAutoscaling()).toEqual({ metric: "inflight", target: 4, minReplicas: 0, maxReplicas: 3, policy: "", mode });
  });

  it("takes the --flag=value form too", async () => {
    expect((await berth("lease", "create", "chat", ...scaled, "--autoscaling-mode=builtin")).code).toBe(0);
    expect(sentAutoscaling()).toMatchObject({ mode: "builtin" });
  });

  it("leaves the mode to the backend when the flag is absent (sent empty)", async () => {
    expect((await berth("lease", "create", "chat", ...scaled)).code).toBe(0);
    expect(sentAutoscaling()).toMatchObject({ metric: "inflight", mode: "" });
  });

  it("refuses another value before calling berthd (usage, exit 2)", async () => {
    const run = await berth("lease", "create", "chat", ...scaled, "--autoscaling-mode", "auto");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--autoscaling-mode must be one of hpa, builtin, not "auto"');
    expect(session.peer.calls.filter((c) => c.method === "LeaseService.Create")).toHaveLength(0);
  });

  it("reads autoscaling.mode from a spec file, checks it with its field path, and the flag overrides it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-mode-"));
    const file = (name: string, mode: string): string => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, `name: ${name}\nmodels: [simple@demo]\nautoscaling: { metric: rps, target: 10, maxReplicas: 2, mode: ${mode} }\n`);
      return path;
    };
    expect((await berth("lease", "create", "-f", file("from-file", "builtin"))).code).toBe(0);
    expect(sentAutoscaling()).toMatchObject({ metric: "rps", mode: "builtin" });

    expect((await berth("lease", "create", "-f", file("overridden", "builtin"), "--autoscaling-mode", "hpa")).code).toBe(0);
    expect(sentAutoscaling()).toMatchObject({ metric: "rps", maxReplicas: 2, mode: "hpa" });

    const bad = await berth("lease", "create", "-f", file("bad", "sometimes"));
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("  autoscaling.mode: ");
    expect(bad.stderr).toContain('"sometimes" is not an autoscaling mode');
    expect(session.peer.calls.filter((c) => c.method === "LeaseService.Create")).toHaveLength(2);
  });

  it("is in lease create --help, with its choices and an example", async () => {
    const run = await berth("lease", "create", "--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--autoscaling-mode MODE\b.*hpa.*builtin/s);
    expect(run.stdout).toMatch(/^  berth lease create .*--autoscaling-mode builtin/m);
  });
});
