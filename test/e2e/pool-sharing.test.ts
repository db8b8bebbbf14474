// A pool server shared by several leases: shared ownership keeps a model loaded while any lease
// holds it (and unloads it when the last one goes), and leases of another group never land on
// the pool's server, nor share a server with the ONNX leases when bespoke.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lease } from "@berth/api/berth";
import { writeDemoRepository } from "@berth/repository";
import { inferSimple, until } from "./support/kserve.js";
import { startStack, type Stack } from "./support/stack.js";

/** A PyTorch model (group `pytorch`): berthd places it by its group; the ONNX-only model server cannot load it. */
const writeTorchRepository = (dir: string): void => {
  mkdirSync(join(dir, "torchy", "1"), { recursive: true });
  writeFileSync(
    join(dir, "torchy", "config.pbtxt"),
    'name: "torchy"\nplatform: "pytorch_libtorch"\nmax_batch_size: 8\ninput [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]\n',
  );
  writeFileSync(join(dir, "torchy", "1", "model.pt"), Buffer.alloc(1024, 7));
};

const readyModels = async (endpoint: string): Promise<string[]> => {
  const response = await fetch(`http://${endpoint}/v2/repository/index`, { method: "POST", body: "{}", signal: AbortSignal.timeout(5_000) });
  const index = (await response.json()) as { name: string; state?: string }[];
  return index.filter((m) => m.state === "READY").map((m) => m.name).sort();
};

const createAndWait = async (stack: Stack, spec: Record<string, unknown>): Promise<Lease> => (await follow(stack, spec)).last;

/** Creates a lease and follows it to the end of --wait: the last state, and the first placement it had. */
const follow = async (stack: Stack, spec: Record<string, unknown>): Promise<{ last: Lease; placed?: NonNullable<Lease["placement"]> }> => {
  let last: Lease | null = null;
  let placed: NonNullable<Lease["placement"]> | undefined;
  for await (const p of stack.client.lease.create({ spec, wait: true })) {
    last = p.lease;
    if (placed === undefined && p.lease?.placement != null && p.lease.placement.serverId !== "") placed = p.lease.placement;
  }
  return { last: last!, ...(placed !== undefined ? { placed } : {}) };
};

describe("pool sharing and groups", () => {
  let stack: Stack;
  let repos: string;

  beforeAll(async () => {
    repos = mkdtempSync(join(tmpdir(), "berth-e2e-repos-"));
    await writeDemoRepository(join(repos, "demo"));
    writeTorchRepository(join(repos, "other"));
    // Two GPUs: groups are kept apart per GPU, so the PyTorch server needs the one the ONNX pool does not use.
    stack = await startStack({ config: { nodes: [{ name: "local", gpus: [{ memory: "4Gi" }, { memory: "4Gi" }] }], repositories: { demo: { dir: join(repos, "demo") }, other: { dir: join(repos, "other") } } } });
    await stack.client.pool.create({
      spec: { name: "shared", group: "onnxruntime", resources: { gpuMemory: "2Gi" }, minInstances: 1, maxInstances: 1, quotaPerInstance: "1Gi" },
    });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(repos, { recursive: true, force: true });
  }, 60_000);

  it("keeps a model loaded while any lease holds it", async () => {
    const a = await createAndWait(stack, { name: "holder-a", pool: "shared", quota: "256Mi", models: [{ name: "simple" }, { name: "mlp_fp32" }] });
    const b = await createAndWait(stack, { name: "holder-b", pool: "shared", quota: "128Mi", models: [{ name: "simple" }] });
    expect([a.phase, b.phase]).toEqual(["LEASE_PHASE_READY", "LEASE_PHASE_READY"]);
    expect(b.placement?.serverId).toBe(a.placement?.serverId);
    const server = await stack.client.server.get({ id: a.placement!.serverId });
    const endpoint = server.endpoints[0]!;
    expect([...server.leases].sort()).toEqual(["holder-a", "holder-b"]);
    expect(await readyModels(endpoint)).toEqual(["mlp_fp32", "simple"]);

    // holder-a goes: mlp_fp32 (only it held) is unloaded, simple (holder-b holds it too) stays and serves.
    await stack.client.lease.release({ name: "holder-a" });
    await until("mlp_fp32 to be unloaded", async () => ((await readyModels(endpoint)).includes("mlp_fp32") ? undefined : true));
    expect(await readyModels(endpoint)).toEqual(["simple"]);
    const answer = await until("an inference through the router", async () => {
      const r = await inferSimple(stack.router, 3);
      return r.status === 200 ? r : undefined;
    });
    expect(answer.outputs.OUTPUT0).toEqual(answer.expected.sum);

    // holder-b goes: nothing holds simple any more.
    await stack.client.lease.release({ name: "holder-b" });
    await until("simple to be unloaded", async () => ((await readyModels(endpoint)).length === 0 ? true : undefined));
    await until("the router to drop the route", async () => ((await inferSimple(stack.router)).status === 404 ? true : undefined), 10_000);
  }, 120_000);

  it("never puts leases of different groups on one server", async () => {
    const onnx = await createAndWait(stack, { name: "onnx-one", pool: "shared", quota: "128Mi", models: [{ name: "simple" }] });
    expect(onnx.phase).toBe("LEASE_PHASE_READY");
    const poolServer = onnx.placement!.serverId;

    // A PyTorch lease asking for the ONNX pool is refused or left unplaced, never bound to its server.
    let inPool: Lease | undefined;
    try {
      inPool = await createAndWait(stack, { name: "torch-in-pool", pool: "shared", quota: "128Mi", models: [{ name: "torchy", repository: "other" }] });
    } catch (e) {
      expect(String(e)).toMatch(/group|pytorch|FAILED_PRECONDITION|RESOURCE_EXHAUSTED|INVALID_ARGUMENT/i);
    }
    if (inPool !== undefined) expect(inPool.placement?.serverId ?? "").not.toBe(poolServer);

    // A bespoke PyTorch lease gets a server of its own group on the other GPU (then fails to
    // load: the model server runs ONNX only).
    const bespoke = await follow(stack, { name: "torch-own", resources: { gpuMemory: "128Mi" }, models: [{ name: "torchy", repository: "other" }] });
    expect(bespoke.placed?.serverId).toBeDefined();
    expect(bespoke.placed!.serverId).not.toBe(poolServer);
    expect(bespoke.placed!.gpuIndices).not.toEqual(onnx.placement!.gpuIndices);
    expect(bespoke.last.phase).toBe("LEASE_PHASE_FAILED");
    expect(bespoke.last.failureMessage).toContain("torchy");
    const servers = (await stack.client.server.list()).servers;
    expect(servers.find((s) => s.id === poolServer)?.group).toBe("onnxruntime");
    // Whatever became of the PyTorch leases, every server hosts one group.
    for (const s of servers) {
      const groups = new Set(s.leases.map((l) => (l.startsWith("torch") ? "pytorch" : "onnxruntime")));
      expect(groups.size, `server ${s.id} hosts ${s.leases.join(", ")}`).toBeLessThanOrEqual(1);
    }
  }, 120_000);
});
