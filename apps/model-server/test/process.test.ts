import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDemoRepository } from "@berth/repository/demo/demo-repository";
import { FlagError, parseFlags } from "../src/flags.js";
import { parseListeningLine } from "../src/listening-line.js";
import { startModelServer } from "../src/server.js";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
let repository: string;

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "berth-model-server-proc-"));
  await writeDemoRepository(repository);
});
afterAll(() => rm(repository, { recursive: true, force: true }));

describe("berth-model-server as a process", () => {
  it("prints its ports on one stdout line, serves, and exits 0 on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "--model-repository", repository, "--http-port=0", "--grpc-port", "0", "--metrics-port", "0",
        "--http-address", "127.0.0.1", "--grpc-address", "127.0.0.1", "--metrics-address", "127.0.0.1",
        "--model-control-mode", "explicit", "--load-model", "simple"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout });
    const ports = await new Promise<ReturnType<typeof parseListeningLine>>((resolve, reject) => {
      lines.on("line", (line) => {
        const parsed = parseListeningLine(line);
        if (parsed) resolve(parsed);
      });
      void exited.then((code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
    });
    expect(ports!.pid).toBe(child.pid);
    const res = await fetch(`http://127.0.0.1:${ports!.http}/v2/models/simple/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: ["INPUT0", "INPUT1"].map((name) => ({ name, datatype: "INT32", shape: [1, 16], data: Array(16).fill(name === "INPUT0" ? 5 : 2) })) }),
    });
    expect(((await res.json()) as { outputs: { data: number[] }[] }).outputs[1].data).toEqual(Array(16).fill(3));
    expect((await fetch(`http://127.0.0.1:${ports!.metrics}/metrics`)).status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("received SIGTERM");
  });
});

describe("startup", () => {
  it("in `none` mode loads every model and fails on `broken` unless told not to", async () => {
    await expect(startModelServer({ modelRepository: repository, httpPort: 0, grpcPort: 0, metricsPort: 0, httpAddress: "127.0.0.1", grpcAddress: "127.0.0.1", metricsAddress: "127.0.0.1" }))
      .rejects.toMatchObject({ _tag: "ModelServerStartError", reason: "LoadModel", message: expect.stringMatching(/broken/) });
    const server = await startModelServer({
      modelRepository: repository, httpPort: 0, grpcPort: 0, metricsPort: 0, exitOnError: false,
      httpAddress: "127.0.0.1", grpcAddress: "127.0.0.1", metricsAddress: "127.0.0.1",
    });
    try {
      const http = `http://127.0.0.1:${server.ports.http}`;
      expect((await fetch(`${http}/v2/models/simple/ready`)).status).toBe(200);
      expect((await fetch(`${http}/v2/models/broken/ready`)).status).toBe(400);
      const load = await fetch(`${http}/v2/repository/models/simple/unload`, { method: "POST" });
      expect(load.status).toBe(400);
      expect(((await load.json()) as { error: string }).error).toMatch(/not allowed if model control mode is not EXPLICIT/);
    } finally {
      await server.close();
    }
  });

  it("fails to start on a port in use", async () => {
    const first = await startModelServer({ modelRepository: repository, httpPort: 0, grpcPort: 0, metricsPort: 0, modelControlMode: "explicit", httpAddress: "127.0.0.1", grpcAddress: "127.0.0.1", metricsAddress: "127.0.0.1" });
    try {
      await expect(
        startModelServer({ modelRepository: repository, httpPort: first.ports.http, grpcPort: 0, metricsPort: 0, modelControlMode: "explicit", httpAddress: "127.0.0.1", grpcAddress: "127.0.0.1", metricsAddress: "127.0.0.1" }),
      ).rejects.toMatchObject({ reason: "Listen" });
    } finally {
      await first.close();
    }
  });
});

describe("flags", () => {
  it("reads tritonserver's flags with Triton's default ports", () => {
    const o = parseFlags(["--model-repository", "/m", "--model-control-mode=explicit", "--load-model", "a", "--load-model=b", "--exit-on-error", "false"]);
    expect(o).toMatchObject({ modelRepository: "/m", httpPort: 8000, grpcPort: 8001, metricsPort: 8002, modelControlMode: "explicit", loadModels: ["a", "b"], exitOnError: false });
  });

  it("rejects bad flags", () => {
    expect(() => parseFlags([])).toThrow(FlagError);
    expect(() => parseFlags(["--model-repository", "/m", "--http-port", "70000"])).toThrow(/port number/);
    expect(() => parseFlags(["--model-repository", "/m", "--model-control-mode", "poll"])).toThrow(/explicit or none/);
    expect(() => parseFlags(["--model-repository", "/m", "--load-model", "a"])).toThrow(/needs --model-control-mode explicit/);
    expect(() => parseFlags(["--model-repository", "/m", "--bogus", "1"])).toThrow(/unknown flag --bogus/);
  });
});
