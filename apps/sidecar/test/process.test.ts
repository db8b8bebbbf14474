import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDemoRepository } from "@berth/repository/demo/demo-repository";
import { BerthdStandIn, eventually, lease } from "./berthd-stand-in.js";
import { startModelServerProcess, type ModelServerProcess } from "./model-server-process.js";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
let root: string;
let berthd: BerthdStandIn;
let server: ModelServerProcess;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-sidecar-proc-"));
  await writeDemoRepository(join(root, "repo"), { models: ["simple"] });
  await mkdir(join(root, "server-repo"));
  [berthd, server] = await Promise.all([BerthdStandIn.start(), startModelServerProcess(join(root, "server-repo"))]);
}, 60_000);

afterAll(async () => {
  berthd?.stop();
  await server?.kill("SIGTERM");
  await rm(root, { recursive: true, force: true });
});

const run = (args: string[]) => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
};

describe("berth-sidecar as a process", () => {
  it("exits 2 with the usage on bad flags", async () => {
    const p = run(["--server-id", "s"]);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/--berthd is required[\s\S]*usage: berth-sidecar/);
  }, 20_000);

  it("loads what berthd assigns, logs JSON lines, and exits 0 on SIGTERM", async () => {
    berthd.assign([lease("p1", "simple")]);
    const p = run([
      "--berthd", berthd.address, "--server-http", `127.0.0.1:${server.http}`, "--server-id", "srv-p",
      "--cache", join(root, "cache"), "--server-repository", join(root, "server-repo"), "--repository", `demo=${join(root, "repo")}`,
      "--poll-interval-ms", "200",
    ]);
    await eventually("p1 loaded", () => berthd.reports.find((r) => "lease" in r && r.lease?.lease_id === "p1" && r.lease.state === "loaded"), 20_000);
    expect((await fetch(`http://127.0.0.1:${server.http}/v2/models/simple/ready`)).status).toBe(200);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    const events = p.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(["sidecar.started", "sidecar.berthd-connected", "sidecar.model-loaded"]));
    expect(p.stderr()).toContain("received SIGTERM");
  }, 30_000);
});
