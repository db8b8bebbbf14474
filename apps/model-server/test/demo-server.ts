// Test fixture: a fresh demo repository in a temp directory and a server on free ports.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeDemoRepository } from "@berth/repository/demo/demo-repository";
import { startModelServer, type RunningModelServer } from "../src/server.js";
import type { ServerOptions } from "../src/flags.js";

export interface DemoServer {
  readonly server: RunningModelServer;
  readonly repository: string;
  readonly http: string;
  readonly metrics: string;
  readonly grpc: string;
  stop(): Promise<void>;
}

export async function startDemoServer(options: Partial<ServerOptions> = {}): Promise<DemoServer> {
  const repository = await mkdtemp(join(tmpdir(), "berth-model-server-"));
  await writeDemoRepository(repository);
  const server = await startModelServer({
    modelRepository: repository,
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    httpAddress: "127.0.0.1",
    grpcAddress: "127.0.0.1",
    metricsAddress: "127.0.0.1",
    modelControlMode: "explicit",
    intraOpThreads: 1,
    ...options,
  });
  return {
    server,
    repository,
    http: `http://127.0.0.1:${server.ports.http}`,
    metrics: `http://127.0.0.1:${server.ports.metrics}/metrics`,
    grpc: `127.0.0.1:${server.ports.grpc}`,
    async stop() {
      await server.close();
      await rm(repository, { recursive: true, force: true });
    },
  };
}

/** The value of one sample in a Prometheus exposition, or undefined when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join(",");
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${wanted}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}
