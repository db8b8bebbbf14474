// Starts a real berthd (every layer: SQLite store, engine, executor, backend, gRPC and HTTP
// servers) inside the test process on free ports, and clients that talk to it over the network.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect";
import { createBerthClient, isServiceError, type BerthClient } from "@berth/api/berth";
import { berthdLayer } from "../src/berthd.js";
import { loadConfig } from "../src/config/load.js";
import { GrpcServer } from "../src/api/grpc-server.js";
import { HttpServer } from "../src/http/http-server.js";

export interface RunningBerthd {
  readonly grpc: string;
  /** Where SidecarService listens (the API's address unless auth or TLS moved it to its own listener). */
  readonly sidecars: string;
  readonly http: string;
  readonly stateDir: string;
  client(token?: string): BerthClient;
  stop(): Promise<void>;
}

export const tempStateDir = (): string => mkdtempSync(join(tmpdir(), "berthd-test-"));

/** A berthd with the sim backend (unless the configuration says otherwise) on free ports. */
export async function startBerthd(options: { readonly stateDir?: string; readonly config?: Record<string, unknown>; readonly env?: Record<string, string> } = {}): Promise<RunningBerthd> {
  const stateDir = options.stateDir ?? tempStateDir();
  const config = await Effect.runPromise(
    loadConfig({
      inline: {
        listen: "127.0.0.1:0",
        http: "127.0.0.1:0",
        stateDir,
        backend: { kind: "sim", sim: { startup: "50ms", load: "50ms" } },
        ...options.config,
      },
      env: options.env ?? {},
      cwd: stateDir,
    }),
  );
  const runtime = ManagedRuntime.make(berthdLayer(config).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))));
  const grpc = await runtime.runPromise(GrpcServer);
  const http = await runtime.runPromise(HttpServer);
  const clients: BerthClient[] = [];
  return {
    grpc: grpc.address,
    sidecars: grpc.sidecarAddress,
    http: `http://${http.address}`,
    stateDir,
    client: (token?: string) => {
      const c = createBerthClient(grpc.address, token === undefined ? {} : { token });
      clients.push(c);
      return c;
    },
    stop: async () => {
      for (const c of clients) c.close();
      await runtime.dispose();
    },
  };
}

/** The gRPC status code of a failed call (throws when the call did not fail with a status). */
export async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    if (isServiceError(error)) return error.code;
    throw error;
  }
  throw new Error("the call succeeded");
}

export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/** Polls until `find` returns something other than undefined. */
export async function eventually<T>(what: string, find: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
