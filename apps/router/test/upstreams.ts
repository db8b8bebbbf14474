// Test fixture: real upstreams. Each replica is F's model server (apps/model-server) started as
// a child process on free loopback ports with the demo repository's `simple` loaded, exactly as
// a local backend would start it; the router under test runs in-process.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { writeDemoRepository } from "@berth/repository/demo/demo-repository";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const MODEL_SERVER_MAIN = join(REPO_ROOT, "apps/model-server/src/main.ts");

export interface Replica {
  readonly http: string;
  readonly grpc: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, resolved once the process is gone. */
  stop(): Promise<void>;
}

/** A demo repository in a fresh temp directory (with `simple`), and its remover. */
export async function demoRepository(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "berth-router-test-"));
  await writeDemoRepository(dir, { models: ["simple"] });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function startReplica(repository: string, timeoutMs = 60_000): Promise<Replica> {
  const child = spawn(
    process.execPath,
    [
      "--import", "tsx", MODEL_SERVER_MAIN,
      "--model-repository", repository,
      "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0",
      "--http-address", "127.0.0.1", "--grpc-address", "127.0.0.1", "--metrics-address", "127.0.0.1",
      "--model-control-mode", "explicit", "--load-model", "simple", "--intra-op-threads", "1",
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const end = (signal: NodeJS.Signals) => async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return new Promise((resolvePorts, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`model server did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`model server exited with ${code} before listening: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let v: { event?: string; http?: number; grpc?: number };
      try {
        v = JSON.parse(line) as typeof v;
      } catch {
        return;
      }
      if (v.event !== "berth-model-server.listening") return;
      clearTimeout(timer);
      resolvePorts({
        http: `127.0.0.1:${v.http}`,
        grpc: `127.0.0.1:${v.grpc}`,
        pid: child.pid!,
        process: child,
        kill: end("SIGKILL"),
        stop: end("SIGTERM"),
      });
    });
  });
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * A slow replica: a pass-through to a real replica that waits `delayMs` before forwarding
 * each request, and counts them. It makes one replica slower without touching the server.
 */
export async function slowFront(target: string, delayMs: number): Promise<{ http: string; count: () => number; close(): Promise<void> }> {
  const [host, port] = target.split(":");
  const agent = new http.Agent({ keepAlive: true });
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    setTimeout(() => {
      const up = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    http: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => count,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Successful inferences of `simple` a replica has counted (its own statistics API). */
export async function successCount(replicaHttp: string): Promise<number> {
  const stats = (await (await fetch(`http://${replicaHttp}/v2/models/simple/stats`)).json()) as {
    model_stats: { inference_stats: { success: { count: number } } }[];
  };
  return stats.model_stats[0].inference_stats.success.count;
}

export const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** A `simple` infer request over JSON, with the expected outputs. */
export function simpleJson(seed: number) {
  const a = range(16, (i) => i * 31 + seed);
  const b = range(16, (i) => (seed % 7) - i);
  return {
    body: JSON.stringify({
      inputs: [
        { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: a },
        { name: "INPUT1", datatype: "INT32", shape: [1, 16], data: b },
      ],
    }),
    sum: a.map((x, i) => x + b[i]),
    difference: a.map((x, i) => x - b[i]),
  };
}

export interface InferAnswer {
  status: number;
  headers: Headers;
  json: { outputs?: { name: string; data: number[] }[]; error?: string };
}

export async function inferJson(base: string, seed: number, model = "simple"): Promise<InferAnswer & { expected: ReturnType<typeof simpleJson> }> {
  const expected = simpleJson(seed);
  const res = await fetch(`${base}/v2/models/${model}/infer`, { method: "POST", body: expected.body, headers: { "content-type": "application/json" } });
  return { status: res.status, headers: res.headers, json: (await res.json()) as InferAnswer["json"], expected };
}
