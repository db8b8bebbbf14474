import { lstat, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeaseStatus, ModelActivity, SidecarReport } from "@berth/api/sidecar";
import { writeDemoRepository } from "@berth/repository/demo/demo-repository";
import { serveRepositoryOverHttp, type RepositoryHttpServer } from "@berth/repository/sources/http-serve";
import { parseFlags } from "../src/flags.js";
import { startSidecar, type Sidecar } from "../src/sidecar.js";
import { BerthdStandIn, eventually, lease } from "./berthd-stand-in.js";
import { startModelServerProcess, type ModelServerProcess } from "./model-server-process.js";

let root: string;
let berthd: BerthdStandIn;
let server: ModelServerProcess;
let sidecar: Sidecar;
let hub: RepositoryHttpServer;
let options: ReturnType<typeof parseFlags>;
const logs: { event: string; fields: Record<string, unknown> }[] = [];
let inferencesDone = 0;

const environment = {
  env: { BERTH_REPOSITORY_AUTH_HUB: "Authorization: Bearer hub-token" },
  log: (event: string, fields: Record<string, unknown> = {}) => {
    logs.push({ event, fields });
    if (process.env.SIDECAR_TEST_DEBUG) console.error(Date.now() % 100_000, event, JSON.stringify(fields));
  },
  reconnect: { base: "50 millis", cap: "400 millis" },
};

const http = () => `http://127.0.0.1:${server.http}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-sidecar-"));
  await writeDemoRepository(join(root, "repo"), { models: ["simple", "mlp_fp32", "broken", "bool_not"] });
  await mkdir(join(root, "server-repo"));
  hub = await serveRepositoryOverHttp(join(root, "repo"), { requireHeader: { name: "Authorization", value: "Bearer hub-token" } });
  [berthd, server] = await Promise.all([BerthdStandIn.start(), startModelServerProcess(join(root, "server-repo"))]);
  options = parseFlags([
    "--berthd", berthd.address, "--server-http", `127.0.0.1:${server.http}`, "--server-id", "srv-1", "--replica-id", "srv-1-0",
    "--cache", join(root, "cache"), "--server-repository", join(root, "server-repo"), "--repository", `demo=${join(root, "repo")}`, "--repository", `hub=${hub.url}`,
    "--poll-interval-ms", "150", "--activity-interval-ms", "200",
  ]);
  sidecar = startSidecar(options, environment);
}, 60_000);

afterAll(async () => {
  await sidecar?.close();
  berthd?.stop();
  await hub?.close();
  await server?.kill("SIGTERM");
  await rm(root, { recursive: true, force: true });
});

type LeaseReport = Extract<SidecarReport, { lease: LeaseStatus }>["lease"];
const leaseReports = (b: BerthdStandIn = berthd): LeaseReport[] => b.reports.flatMap((r) => ("lease" in r && r.lease ? [r.lease] : []));
const statusOf = (id: string, state: "loaded" | "failed" | "unloaded", b: BerthdStandIn = berthd, after = 0) =>
  eventually(`${state} report for ${id}`, () => leaseReports(b).slice(after).find((r) => r.lease_id === id && r.state === state));

async function inferSimple(batch: number): Promise<number[]> {
  const res = await fetch(`${http()}/v2/models/simple/infer`, {
    method: "POST",
    body: JSON.stringify({ inputs: ["INPUT0", "INPUT1"].map((name, k) => ({ name, datatype: "INT32", shape: [batch, 16], data: Array(16 * batch).fill(k === 0 ? 7 : 3) })) }),
  });
  expect(res.status).toBe(200);
  inferencesDone += batch;
  return ((await res.json()) as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === "OUTPUT0")!.data;
}

/** Inference count deltas reported for `model`, over every berthd stand-in of the run. */
const allReports: SidecarReport[][] = [];
const activitySum = (model: string) =>
  [...allReports, berthd.reports]
    .filter((reports, i, all) => all.indexOf(reports) === i)
    .flat()
    .flatMap((r) => ("activity" in r && r.activity ? r.activity.models : []))
    .filter((m: ModelActivity) => m.model === model)
    .reduce((n, m) => n + m.inference_count_delta, 0);

const modelReady = async (model: string) => (await fetch(`${http()}/v2/models/${model}/ready`)).status === 200;

describe("the sidecar against a berthd stand-in and the real model server", () => {
  it("says Hello, then pulls an assigned model into the cache, loads it and reports Loaded with the measured memory", async () => {
    const hello = await eventually("hello", () => berthd.reports.find((r) => r.report === "hello"));
    expect("hello" in hello && hello.hello).toMatchObject({ server_id: "srv-1", replica_id: "srv-1-0", server_endpoint: `127.0.0.1:${server.http}`, loaded_models: [] });

    const assignment = berthd.assign([lease("l1", "demo/simple")]);
    const loaded = await statusOf("l1", "loaded");
    expect(loaded.generation).toBe(assignment.generation);
    const stats = (await (await fetch(`${http()}/v2/models/simple/stats`)).json()) as { model_stats: { memory_usage: { byte_size: number }[] }[] };
    const serverMemory = stats.model_stats.flatMap((s) => s.memory_usage).reduce((n, m) => n + m.byte_size, 0);
    expect(serverMemory).toBeGreaterThan(0);
    expect(loaded.state === "loaded" && loaded.loaded).toMatchObject({ measured_memory_bytes: serverMemory, models: [{ model: "simple", memory_bytes: serverMemory }] });

    const cached = join(root, "cache", "demo", "simple", "1", "model.onnx");
    expect((await readFile(cached)).equals(await readFile(join(root, "repo", "simple", "1", "model.onnx")))).toBe(true);
    expect((await lstat(join(root, "server-repo", "simple"))).isSymbolicLink()).toBe(true);
    expect(await inferSimple(1)).toEqual(Array(16).fill(10));
  }, 30_000);

  it("reports activity from the statistics API: the inference count deltas add up to the inferences made", async () => {
    await inferSimple(2);
    await inferSimple(3);
    await eventually(`activity summing to ${inferencesDone}`, () => (activitySum("simple") === inferencesDone ? true : undefined));
    const last = berthd.reports.flatMap((r) => ("activity" in r && r.activity ? r.activity.models : [])).at(-1)!;
    expect(last.last_inference_ms).toBeGreaterThan(Date.now() - 60_000);
    expect(last.execution_count_delta).toBeGreaterThan(0);
  }, 30_000);

  it("keeps a model two leases share until the last of them is gone (shared ownership)", async () => {
    berthd.assign([lease("l1", "demo/simple"), lease("l2", "simple")]);
    await statusOf("l2", "loaded");
    const mark = leaseReports().length;
    berthd.assign([lease("l2", "simple")]);
    await statusOf("l1", "unloaded", berthd, mark);
    expect(await modelReady("simple")).toBe(true);

    berthd.assign([]);
    await statusOf("l2", "unloaded", berthd, mark);
    expect(await modelReady("simple")).toBe(false);
    expect(await lstat(join(root, "server-repo", "simple")).catch(() => undefined)).toBeUndefined();
  }, 30_000);

  it("reports Failed with the model server's error for a broken model, and the repository's for a missing one", async () => {
    berthd.assign([lease("l3", "broken"), lease("l4", "ghost"), lease("l5", "mlp_fp32")]);
    const broken = await statusOf("l3", "failed");
    expect(broken.state === "failed" && broken.failed).toMatchObject({ model: "broken", error: expect.stringMatching(/load failed for model 'broken'/) });
    const ghost = await statusOf("l4", "failed");
    expect(ghost.state === "failed" && ghost.failed.error).toMatch(/'ghost'/);
    await statusOf("l5", "loaded");
  }, 30_000);

  it("pulls from an HTTP repository with its auth header, checking every file's sha256", async () => {
    berthd.assign([lease("l5", "mlp_fp32"), lease("l7", "hub/bool_not")]);
    await statusOf("l7", "loaded");
    expect(hub.requests).toContain("/bool_not/1/model.onnx");
    expect((await readFile(join(root, "cache", "hub", "bool_not", "1", "model.onnx"))).equals(await readFile(join(root, "repo", "bool_not", "1", "model.onnx")))).toBe(true);
    expect(await modelReady("bool_not")).toBe(true);
  }, 30_000);

  it("survives a berthd restart: reconnects, says Hello again and resends every lease's status", async () => {
    const port = berthd.port;
    berthd.stop();
    allReports.push(berthd.reports);
    await eventually("disconnect noticed", () => logs.find((l) => l.event === "sidecar.berthd-disconnected"));
    await new Promise((r) => setTimeout(r, 300)); // a few failed attempts with backoff
    berthd = await BerthdStandIn.start(port, { generation: 1, leases: [lease("l5", "mlp_fp32"), lease("l6", "simple")] });
    const hello = await eventually("hello after restart", () => berthd.reports.find((r) => r.report === "hello"));
    expect("hello" in hello && hello.hello.loaded_models).toEqual(["bool_not", "mlp_fp32"]);
    await statusOf("l5", "loaded");
    await statusOf("l6", "loaded");
    expect(await modelReady("simple")).toBe(true);
    // l7 was assigned before the restart and is not any more: its model goes.
    await statusOf("l7", "unloaded");
    expect(await modelReady("bool_not")).toBe(false);
  }, 30_000);

  it("reloads everything assigned after the model server is killed and restarted", async () => {
    const port = server.http;
    await server.kill("SIGKILL");
    await eventually("health not ready", () => berthd.reports.find((r) => "health" in r && r.health && !r.health.ready));
    const down = berthd.reports.length;
    server = await startModelServerProcess(join(root, "server-repo"), port);
    await eventually("simple and mlp_fp32 reloaded", async () => ((await modelReady("simple")) && (await modelReady("mlp_fp32")) ? true : undefined));
    expect(logs.filter((l) => l.event === "sidecar.model-lost").map((l) => l.fields.model).sort()).toEqual(["mlp_fp32", "simple"]);
    await eventually("health ready again", () => berthd.reports.slice(down).find((r) => "health" in r && r.health?.ready));
    // The restarted server counts from zero; activity still adds up to every inference made.
    expect(await inferSimple(1)).toEqual(Array(16).fill(10));
    await eventually(`activity summing to ${inferencesDone}`, () => (activitySum("simple") === inferencesDone ? true : undefined));
  }, 40_000);

  it("after its own restart, keeps what the server already has loaded from its links instead of reloading it", async () => {
    const before = await (await fetch(`${http()}/v2/models/simple/stats`)).json();
    await sidecar.close();
    const mark = leaseReports().length;
    sidecar = startSidecar(options, environment);
    const l6 = await statusOf("l6", "loaded", berthd, mark);
    expect(l6.state === "loaded" && l6.loaded.load_time_ms).toBe(0);
    expect(logs.filter((l) => l.event === "sidecar.model-adopted").map((l) => l.fields.model).sort()).toEqual(["mlp_fp32", "simple"]);
    // Not reloaded: a reload would have reset the server's statistics.
    expect(await (await fetch(`${http()}/v2/models/simple/stats`)).json()).toEqual(before);
  }, 30_000);
});
