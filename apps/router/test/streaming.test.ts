// Bodies larger than the gathering threshold stream through the router both ways, and
// chunked requests (no Content-Length) are forwarded; checked with an echo upstream that
// answers byte for byte what it receives, and the router's process started from main.ts.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseListeningLine } from "../src/listening-line.js";
import { decodeRouteSet } from "../src/route-set.js";
import { startRouter, type RunningRouter } from "../src/router.js";
import { REPO_ROOT } from "./upstreams.js";

let echo: http.Server;
let echoAddress: string;
/** Bytes the echo upstream had received when it sent its first response byte, per request. */
const receivedAtFirstByte: number[] = [];
let router: RunningRouter;
let base: string;

beforeAll(async () => {
  echo = http.createServer((req, res) => {
    let received = 0;
    let started = false;
    res.writeHead(200, { "content-type": "application/octet-stream", "x-echo-length": req.headers["content-length"] ?? "chunked", "inference-header-content-length": "7" });
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (!started) {
        started = true;
        receivedAtFirstByte.push(received);
      }
      if (!res.write(chunk)) {
        req.pause();
        res.once("drain", () => req.resume());
      }
    });
    req.on("end", () => res.end());
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoAddress = `127.0.0.1:${(echo.address() as AddressInfo).port}`;
  router = await startRouter({ host: "127.0.0.1", httpPort: 0, grpcPort: null, picker: "power-of-two", seed: 2, log: () => {} });
  router.routes.set(decodeRouteSet({ leases: [{ name: "echo", models: ["echo"], replicas: [{ id: "e1", http: echoAddress }] }] }));
  base = `http://127.0.0.1:${router.ports.http}`;
});

afterAll(async () => {
  await router?.close();
  echo?.closeAllConnections();
  await new Promise<void>((r) => echo?.close(() => r()));
});

describe("streaming", () => {
  it("streams an 8 MiB body up and back unchanged, without holding it whole", async () => {
    const body = randomBytes(8 * 1024 * 1024);
    const res = await fetch(`${base}/v2/models/echo/infer`, { method: "POST", body, headers: { "content-type": "application/octet-stream" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-echo-length")).toBe(String(body.length));
    expect(res.headers.get("inference-header-content-length")).toBe("7");
    const back = Buffer.from(await res.arrayBuffer());
    expect(back.length).toBe(body.length);
    expect(back.equals(body)).toBe(true);
    // The echo answered while the body was still arriving: the router forwarded it in pieces.
    expect(receivedAtFirstByte.at(-1)!).toBeLessThan(body.length);
  });

  it("forwards a chunked request (no Content-Length) as a stream while it is still arriving", async () => {
    const parts = ["hello ", "chunked ", "world"];
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 30));
        if (i < parts.length) controller.enqueue(Buffer.from(parts[i++]));
        else controller.close();
      },
    });
    const res = await fetch(`${base}/v2/models/echo/infer`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-echo-length")).toBe("chunked");
    expect(await res.text()).toBe("hello chunked world");
  });
});

describe("main.ts", () => {
  it("serves a route file on free ports, prints them, and exits 0 on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-router-main-"));
    const routes = join(dir, "routes.yaml");
    await writeFile(routes, `leases:\n  - name: echo\n    models: [echo]\n    replicas: [{id: e1, http: "${echoAddress}"}]\n`);
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "apps/router/src/main.ts"), "--routes", routes, "--http-port", "0", "--grpc-port", "0"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const ports = await new Promise<{ http: number; grpc: number | null }>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`router exited with ${code}: ${stderr}`)));
        createInterface({ input: child.stdout }).on("line", (line) => {
          const parsed = parseListeningLine(line);
          if (parsed !== undefined) resolve(parsed);
        });
      });
      expect(ports.grpc).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${ports.http}/v2/models/echo/infer`, { method: "POST", body: "ping" });
      expect(await res.text()).toBe("ping");
      child.removeAllListeners("exit");
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/received SIGTERM/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("serves from --workers 2 on shared ports, and the workers' activity adds up", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-router-workers-"));
    const routes = join(dir, "routes.yaml");
    await writeFile(routes, `leases:\n  - name: echo\n    models: [echo]\n    replicas: [{id: e1, http: "${echoAddress}"}]\n`);
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "apps/router/src/main.ts"), "--routes", routes, "--http-port", "0", "--grpc-port", "off", "--workers", "2"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const ports = await new Promise<{ http: number; pid: number }>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`router exited with ${code}: ${stderr}`)));
        createInterface({ input: child.stdout }).on("line", (line) => {
          const parsed = parseListeningLine(line);
          if (parsed !== undefined) resolve(parsed);
        });
      });
      expect(ports.pid).toBe(child.pid);
      // A connection each: the cluster deals connections to the workers in turn.
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          new Promise<string>((resolve, reject) => {
            const req = http.request({ host: "127.0.0.1", port: ports.http, method: "POST", path: "/v2/models/echo/infer", agent: false }, (res) => {
              let body = "";
              res.on("data", (d: Buffer) => (body += d.toString()));
              res.on("end", () => resolve(body));
            });
            req.once("error", reject);
            req.end(`ping ${i}`);
          }),
        ),
      );
      expect(answers).toEqual(Array.from({ length: 6 }, (_, i) => `ping ${i}`));
      child.removeAllListeners("exit");
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      const counts = [...stderr.matchAll(/activity: lease 'echo' (\d+) request/g)].map((m) => Number(m[1]));
      expect(counts.length).toBe(2);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(6);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
