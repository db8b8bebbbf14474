// A lease's whole life through the real serving path: created with the berth CLI (--wait exits
// 0 once Ready, GPU memory left to berthd), inferences through the router over HTTP and gRPC
// return simple's sum and difference, the router's traffic keeps it held, then with no
// traffic it expires, its models are unloaded and its bespoke server is removed (processes
// gone, endpoint silent). Ctrl-C (SIGTERM) then stops the stack with exit code 0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timestampToMs } from "@berth/api/berth";
import { inferSimple, inferSimpleGrpc, until } from "./support/kserve.js";
import { processesUsing, startStack, type Stack } from "./support/stack.js";

describe("a lease from create to removal", () => {
  let stack: Stack;

  beforeAll(async () => {
    // keepWarm off: an expired lease is ended at once rather than kept warm until its memory is needed.
    stack = await startStack({ config: { placement: { keepWarm: false } }, activityMs: 300 });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it("serves through the router while used, then expires, unloads and removes its server", async () => {
    // No --gpu-memory: berthd sizes a bespoke lease from its models.
    const created = await stack.berth("lease", "create", "life", "-m", "simple", "--duration", "15s", "--activity-window", "2s", "--wait", "-o", "json");
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: "life", phase: "Ready" });
    // The lease clock starts at Ready, which was at the latest now.
    const readyBy = Date.now();

    const listed = await stack.berth("lease", "list", "-o", "json");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: "life", phase: "Ready" })]);

    const lease = await stack.client.lease.get({ name: "life" });
    const serverId = lease.placement!.serverId;
    const endpoint = lease.placement!.endpoints[0]!;
    expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    // The replica's gRPC endpoint, index for index with its HTTP one.
    const grpcEndpoint = lease.placement!.grpcEndpoints[0]!;
    expect(grpcEndpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(grpcEndpoint).not.toBe(endpoint);
    expect((await stack.client.server.get({ id: serverId })).grpcEndpoints).toEqual([grpcEndpoint]);

    // KServe v2 gRPC through the router reaches the replica too.
    const overGrpc = await until("a gRPC inference through the router", async () => {
      const a = await inferSimpleGrpc(stack.routerGrpc, 7);
      return a.outputs !== undefined ? a : undefined;
    }, 20_000);
    expect(overGrpc.outputs!.OUTPUT0).toEqual(overGrpc.expected.sum);
    expect(overGrpc.outputs!.OUTPUT1).toEqual(overGrpc.expected.difference);

    // Traffic through the router past the lease's minimum duration (15 s from Ready) and several
    // activity windows: the router's renewals keep it Ready.
    const trafficUntil = readyBy + 15_000 + 4_000;
    let seed = 0;
    while (Date.now() < trafficUntil) {
      const answer = await until("an inference through the router", async () => {
        const a = await inferSimple(stack.router, ++seed);
        return a.status === 200 ? a : undefined;
      }, 20_000);
      expect(answer.outputs.OUTPUT0).toEqual(answer.expected.sum);
      expect(answer.outputs.OUTPUT1).toEqual(answer.expected.difference);
      await new Promise((r) => setTimeout(r, 100));
    }
    const held = await stack.client.lease.get({ name: "life" });
    expect(held.phase).toBe("LEASE_PHASE_READY");
    expect(timestampToMs(held.expiresAt)!).toBeGreaterThan(Date.now());

    // No traffic: it expires and ends.
    const ended = await until("the lease to end", async () => {
      const l = await stack.client.lease.get({ name: "life" }).catch(() => undefined);
      return l === undefined || l.phase === "LEASE_PHASE_RELEASED" ? (l?.phase ?? "gone") : undefined;
    }, 20_000);
    expect(["LEASE_PHASE_RELEASED", "gone"]).toContain(ended);

    // Its server is removed: not listed, its processes gone, its endpoint silent, and the router answers 404.
    await until("the server to be removed", async () => ((await stack.client.server.list()).servers.some((s) => s.id === serverId) ? undefined : true), 20_000);
    await until("the server's processes to exit", () => (processesUsing(`${stack.stateDir}/servers`).length === 0 ? true : undefined), 20_000);
    await expect(fetch(`http://${endpoint}/v2/health/live`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    expect((await inferSimple(stack.router)).status).toBe(404);

    const released = await stack.berth("lease", "list", "-o", "json");
    expect(JSON.parse(released.stdout).filter((l: { phase: string }) => l.phase === "Ready")).toEqual([]);
  }, 120_000);

  it("stops cleanly on SIGTERM, exit code 0", async () => {
    expect(await stack.stop()).toBe(0);
  }, 60_000);
});
