// berthd with the Docker backend as `npm start -- --backend docker` runs it (router included),
// for the Docker e2e tests: a state directory the test keeps across berthd restarts, containers
// labelled with a test-unique backend instance (so tests sharing the engine never touch each
// other's), the engine reached through a Unix-socket proxy the test can cut, and what the
// engine says about the containers, read with the docker CLI (`docker inspect`).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createBerthClient, type BerthClient } from "@berth/api/berth";
import { ROOT, runBerth } from "./stack.js";

export const IMAGE = "localhost/berth:dev";
export const ENGINE_SOCKET = "/var/run/docker.sock";
const INSTANCE_LABEL = "berth.dev/backend-instance";

const docker = (...args: string[]): string => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });

/**
 * Why the Docker e2e tests cannot run here, or undefined when they can. Under CI the engine is
 * started and the image built (a failure throws: the tests must fail there, not skip); elsewhere
 * a missing engine or image is a reason to skip.
 */
export function dockerUnavailable(): string | undefined {
  if (process.env.CI) {
    execFileSync("bash", [join(ROOT, "scripts/ci/start-docker.sh")], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      docker("image", "inspect", IMAGE);
    } catch {
      execFileSync("bash", [join(ROOT, "scripts/image/build.sh")], { stdio: ["ignore", "pipe", "inherit"], timeout: 300_000 });
    }
    return undefined;
  }
  try {
    docker("info", "--format", "{{.ServerVersion}}");
  } catch {
    return "no Docker engine answers (start one with: bash scripts/ci/start-docker.sh)";
  }
  try {
    docker("image", "inspect", IMAGE);
  } catch {
    return `the image ${IMAGE} is missing (build it with: npm run image:local)`;
  }
  return undefined;
}

/** A backend instance name no other test run uses. */
export const testInstance = (prefix: string): string => `${prefix}-${randomBytes(3).toString("hex")}`;

/**
 * The engine's socket as berthd sees it: a Unix socket forwarding to the real one. `cut()`
 * makes the engine unreachable from berthd (the socket goes, open connections drop) while the
 * containers go on running; `restore()` brings it back at the same path.
 */
export interface EngineProxy {
  readonly socketPath: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startEngineProxy(dir: string): Promise<EngineProxy> {
  const socketPath = join(dir, "docker.sock");
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<Server>((resolve, reject) => {
      const proxy = createServer((client) => {
        const engine = connect(ENGINE_SOCKET);
        for (const s of [client, engine]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => s.destroy());
        }
        client.pipe(engine).pipe(client);
      });
      proxy.once("error", reject);
      proxy.listen(socketPath, () => resolve(proxy));
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      const closing = server;
      server = undefined;
      for (const s of sockets) s.destroy();
      if (closing === undefined) return resolve();
      closing.close(() => resolve());
    });
  server = await listen();
  return {
    socketPath,
    cut,
    restore: async () => {
      if (server !== undefined) return;
      if (existsSync(socketPath)) rmSync(socketPath);
      server = await listen();
    },
    close: cut,
  };
}

export interface DockerStackOptions {
  /** Kept across restarts: the SQLite store, the demo repository, the model cache. */
  readonly stateDir: string;
  /** The Docker backend's options (instance, socketPath, images, ...), as berthd's config file has them. */
  readonly docker: Record<string, unknown>;
  /** More of berthd's configuration (images allowlist, placement...). */
  readonly config?: Record<string, unknown>;
  /** How often the router renews the leases it served. */
  readonly activityMs?: number;
  /** berthd's gRPC address; fixed across a restart so that running sidecars find the new berthd. Default: a free port. */
  readonly listen?: string;
}

export interface DockerStack {
  readonly berthd: string;
  /** berthd's health and metrics base URL (`/healthz`, `/readyz`, `/metrics`). */
  readonly berthdHttp: string;
  /** The router's KServe v2 HTTP base URL. */
  readonly router: string;
  readonly client: BerthClient;
  berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** What the stack printed (berthd's warnings and errors come on stderr). */
  output(): string;
  /** SIGTERM (as Ctrl-C) and wait for the exit; the state directory stays. */
  stop(graceMs?: number): Promise<number | null>;
}

/** `npm start -- --backend docker` on free ports, with its configuration written into the state directory. */
export async function startDockerStack(options: DockerStackOptions): Promise<DockerStack> {
  const configFile = join(options.stateDir, "berthd.yaml");
  // JSON is YAML.
  writeFileSync(configFile, JSON.stringify({ ...options.config, backend: { kind: "docker", docker: options.docker } }));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import", "tsx", join(ROOT, "scripts/start.ts"),
      "--json",
      "--backend", "docker",
      "--config", configFile,
      "--state-dir", options.stateDir,
      "--listen", options.listen ?? "127.0.0.1:0",
      "--http", "127.0.0.1:0",
      "--router-http-port", "0",
      "--router-grpc-port", "0",
      "--router-activity-ms", String(options.activityMs ?? 300),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let text = "";
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const started = await new Promise<{ berthd: string; berthdHttp: string; router: { host: string; http: number } }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the docker stack did not start within 60 s:\n${text}`)), 60_000);
    void exited.then((code) => reject(new Error(`the docker stack exited (${code}) before starting:\n${text}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      text += `${line}\n`;
      try {
        const event = JSON.parse(line) as { event?: string };
        if (event.event === "berth.started") {
          clearTimeout(timer);
          resolve(event as never);
        }
      } catch {
        // not the start line
      }
    });
  }).catch(async (e: unknown) => {
    child.kill("SIGKILL");
    await exited;
    throw e;
  });
  const client = createBerthClient(started.berthd, { callTimeoutMs: 15_000 });
  let stopping: Promise<number | null> | undefined;
  return {
    berthd: started.berthd,
    berthdHttp: started.berthdHttp,
    router: `http://${started.router.host}:${started.router.http}`,
    client,
    berth: (...args) => runBerth(started.berthd, args),
    output: () => text,
    stop: (graceMs = 30_000) =>
      (stopping ??= (async () => {
        client.close();
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })()),
  };
}

/** What the tests read of a container (`docker inspect`). */
export interface InspectedContainer {
  readonly Id: string;
  readonly Name: string;
  readonly State: { readonly Running: boolean; readonly StartedAt: string };
  readonly Config: { readonly Labels: Readonly<Record<string, string>> | null; readonly Cmd: readonly string[] | null };
  readonly HostConfig: { readonly NetworkMode: string; readonly Binds: readonly string[] | null; readonly RestartPolicy: { readonly Name: string } };
}

/** Every container (running or not) of one backend instance, inspected. */
export function containersOf(instance: string): InspectedContainer[] {
  const ids = docker("ps", "-a", "-q", "--no-trunc", "--filter", `label=${INSTANCE_LABEL}=${instance}`).split("\n").filter((l) => l.trim() !== "");
  if (ids.length === 0) return [];
  return JSON.parse(docker("inspect", ...ids)) as InspectedContainer[];
}

export const dockerKill = (container: string): void => void docker("kill", container);

/** Removes whatever the instance left (containers and volumes), and the state directory. */
export function removeInstance(instance: string, stateDir?: string): void {
  const ids = docker("ps", "-a", "-q", "--filter", `label=${INSTANCE_LABEL}=${instance}`).split("\n").filter((l) => l.trim() !== "");
  if (ids.length > 0) docker("rm", "-f", "-v", ...ids);
  const volumes = docker("volume", "ls", "-q", "--filter", `label=${INSTANCE_LABEL}=${instance}`).split("\n").filter((l) => l.trim() !== "");
  if (volumes.length > 0) docker("volume", "rm", "-f", ...volumes);
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
}

/** A port free now (for an address that must stay the same across restarts). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** berthd's log lines (JSON, <stateDir>/berthd.log) with this message. */
export function berthdLog(stateDir: string, message: string): Record<string, unknown>[] {
  const file = join(stateDir, "berthd.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.includes(message))
    .map((l) => JSON.parse(l) as { message: unknown; annotations?: Record<string, unknown> })
    .filter((l) => l.message === message)
    .map((l) => l.annotations ?? {});
}

export const tempStateDir = (): string => mkdtempSync(join(tmpdir(), "berth-e2e-docker-"));
