// The Kubernetes backend started while its cluster is unreachable (the API server reached through
// a TCP proxy that is not there yet): the layer is built anyway, its calls are Unavailable saying
// why, and once the API server answers the start completes (informers listed and following) and
// calls are carried out. The cluster comes from kubernetes-cluster.ts (skipped without one,
// failed under CI).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Schedule } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backend } from "../src/backend.js";
import type { BackendError } from "../src/errors.js";
import { kubernetesBackendLayerFromConfig } from "../src/kubernetes/kubernetes-backend.js";
import type { KubeClient } from "../src/kubernetes/kube-client.js";
import { adminClient, cluster, deleteNamespace, freshNamespace, mustRun } from "./kubernetes-cluster.js";

const state = cluster();

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** A TCP proxy on 127.0.0.1:`port` to the API server (TLS passes through; the certificate names 127.0.0.1). */
const proxyTo = (port: number, target: { host: string; port: number }) =>
  new Promise<{ close: () => Promise<void> }>((resolve, reject) => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () =>
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          }),
      }),
    );
  });

describe.runIf(state.up || mustRun())("kubernetes backend started while the cluster is unreachable", () => {
  if (!state.up) {
    it("has a cluster", () => {
      throw new Error(state.reason);
    });
    return;
  }
  const admin: KubeClient = adminClient(state.kubeconfig);
  let namespace = "";
  let dir = "";
  beforeAll(async () => {
    namespace = await freshNamespace(admin, "berth-late-start");
    dir = mkdtempSync(join(tmpdir(), "berth-kube-late-"));
  }, 60_000);
  afterAll(async () => {
    await deleteNamespace(admin, namespace);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("is up at once, Unavailable naming the API server; once it answers, lists and routes", async () => {
    const original = readFileSync(state.kubeconfig, "utf8");
    const server = /server:\s*https:\/\/([^:\s/]+):(\d+)/.exec(original);
    expect(server, "the kubeconfig names its API server as https://host:port").not.toBeNull();
    const target = { host: server![1]!, port: Number(server![2]) };
    const port = await freePort();
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, original.replace(server![0], `server: https://127.0.0.1:${port}`));

    const layer = kubernetesBackendLayerFromConfig({ kubeconfig, namespace, retryBaseMs: 20, retryTimes: 1 });
    let proxy: { close: () => Promise<void> } | undefined;
    const started = Date.now();
    try {
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const backend = yield* Backend;
            expect(Date.now() - started).toBeLessThan(10_000);
            const calls: Effect.Effect<unknown, BackendError>[] = [backend.list(), backend.deleteServer("never"), backend.leaseRouting!.leaseRoutes()];
            for (const call of calls) {
              const error = yield* Effect.flip(call).pipe(Effect.orDie);
              expect(error.reason._tag).toBe("Unavailable");
              expect(error.message).toContain("not started yet, retrying");
              expect(error.message).toContain(`127.0.0.1:${port}`);
            }
            proxy = yield* Effect.promise(() => proxyTo(port, target));
            // The API server answers: the start completes and calls are carried out.
            const listed = yield* backend.list().pipe(Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("60 seconds"))));
            expect(listed).toEqual([]);
            expect(yield* backend.leaseRouting!.leaseRoutes()).toEqual([]);
            yield* backend.deleteServer("never");
          }).pipe(Effect.provide(layer)),
        ),
      );
    } finally {
      await proxy?.close();
    }
  }, 120_000);
});
