// Failures through the real serving path: a model the model server cannot load gives the lease
// Failed with the server's own error (and `berth lease create --wait` exits 1 naming it), and a
// model-server process killed under a Ready lease is restarted by the process backend, after
// which the lease is Ready again and inferences through the router return the right numbers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferSimple, until } from "./support/kserve.js";
import { killQuietly, processesUsing, startStack, type Stack } from "./support/stack.js";

describe("failures", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it("a broken model gives the lease Failed with the model server's error", async () => {
    const created = await stack.berth("lease", "create", "bad", "-m", "broken", "--gpu-memory", "256Mi", "--wait");
    expect(created.code).toBe(1);
    const lease = await stack.client.lease.get({ name: "bad" });
    expect(lease.phase).toBe("LEASE_PHASE_FAILED");
    // The model server's words, after the failing model's name (the sidecar passes them on verbatim).
    // (ONNX Runtime's own complaint about the file, as Triton reports it.)
    expect(lease.failureMessage).toMatch(/^broken: load failed for model 'broken': .*Protobuf parsing failed/);
    expect(created.stderr + created.stdout).toContain("load failed for model 'broken'");
  }, 90_000);

  it("a killed model server comes back and its lease returns to Ready", async () => {
    const created = await stack.berth("lease", "create", "sturdy", "-m", "simple", "--gpu-memory", "256Mi", "--wait");
    expect(created.code, created.stderr).toBe(0);
    const before = await stack.client.lease.get({ name: "sturdy" });
    const endpoint = before.placement!.endpoints[0]!;
    const port = endpoint.split(":")[1]!;
    await until("an inference through the router", async () => ((await inferSimple(stack.router)).status === 200 ? true : undefined));

    const servers = processesUsing(`--http-port=${port}`).filter((p) => p.cmdline.includes("model-server"));
    expect(servers).toHaveLength(1);
    killQuietly(servers[0]!.pid, "SIGKILL");

    // The router notices the dead replica (connection refused) and berthd the down server...
    await until("the router to refuse", async () => ((await inferSimple(stack.router)).status !== 200 ? true : undefined), 10_000, 20);
    // ...then the backend restarts it, the sidecar reloads the lease, and the lease is Ready with traffic flowing.
    const answer = await until(
      "inferences to work again",
      async () => {
        const a = await inferSimple(stack.router, 5);
        return a.status === 200 ? a : undefined;
      },
      60_000,
    );
    expect(answer.outputs.OUTPUT0).toEqual(answer.expected.sum);
    expect(answer.outputs.OUTPUT1).toEqual(answer.expected.difference);
    const after = await until("the lease to be Ready", async () => {
      const l = await stack.client.lease.get({ name: "sturdy" });
      return l.phase === "LEASE_PHASE_READY" && l.placement?.readyReplicas === 1 ? l : undefined;
    });
    expect(after.placement?.serverId).toBe(before.placement?.serverId);
    const restarted = processesUsing("model-server").filter((p) => p.cmdline.includes(stack.stateDir));
    expect(restarted.map((p) => p.pid)).not.toContain(servers[0]!.pid);
  }, 120_000);
});
