// How the executor turns a backend's account of a failed server into the lease's Failed
// reason: a server whose every replica failed is Gone with the failed replica's message and the
// end of its log (its leases fail with it, in core); a server that could not be made fails its
// leases only when retrying cannot help.
import { Either } from "effect";
import { describe, expect, it } from "vitest";
import { decide, emptySnapshot, validateLeaseSpec, type Event, type Snapshot } from "@berth/core";
import { backendError } from "@berth/backends/errors";
import type { ObservedServer } from "@berth/backends/observation";
import { ensureFailure, observationEvent, serverFailure } from "../src/executor/executor.js";

const node = { name: "n1", cpu: 8000, memory: 16 * 2 ** 30, state: "Ready" as const, gpus: [{ index: 0, model: "A10", memory: 8 * 2 ** 30 }] };
const spec = Either.getOrThrow(validateLeaseSpec({ name: "web", models: ["simple@demo"], resources: { gpuMemory: "1Gi" } }));

const step = (snapshot: Snapshot, event: Event): Snapshot => {
  const result = decide(snapshot, event);
  expect(result.rejections).toEqual([]);
  return result.snapshot;
};

const observed = (serverId: string, replicas: ObservedServer["replicas"]): ObservedServer => ({ serverId, image: "img", labels: {}, desiredReplicas: replicas.length, replicas });

const failedReplica = (serverId: string, index: number, logTail: string): ObservedServer["replicas"][number] => ({
  replicaId: `${serverId}-${index}`,
  index,
  state: "Failed",
  placement: { node: "n1", gpus: [0] },
  restarts: 3,
  lastError: { reason: "StartFailed", message: "server exited with code 3 before it was ready", logTail, exitCode: 3 },
});

describe("executor: failed servers", () => {
  it("a server whose replicas all failed is Gone with the first failure and its log tail, and its lease fails with them", () => {
    let s = step(emptySnapshot({ now: 0 }), { _tag: "NodeObserved", at: 0, node });
    s = step(s, { _tag: "LeaseRequested", at: 1, id: "l-1", spec });
    const serverId = s.leases["l-1"]!.placement!.serverId;
    const server = observed(serverId, [failedReplica(serverId, 0, "cannot open /models\n"), failedReplica(serverId, 1, "other")]);
    const event = observationEvent(s, server, 5);
    expect(event).toMatchObject({ _tag: "ServerObserved", serverId, state: "Gone" });
    expect(event!.failure).toBe(`server ${serverId} failed: replica ${serverId}-0 (and 1 more replica): StartFailed: server exited with code 3 before it was ready; its log ends:\ncannot open /models`);
    s = step(s, event!);
    expect(s.leases["l-1"]).toMatchObject({ phase: "Failed", failure: { code: "ServerFailed", message: event!.failure } });
  });

  it("keeps only the end of a long log, and says nothing when no replica says why", () => {
    const long = `${"x".repeat(10_000)}THE END`;
    const message = serverFailure(observed("s", [failedReplica("s", 0, long)]))!;
    expect(message.endsWith("THE END")).toBe(true);
    expect(message.length).toBeLessThan(4_200);
    expect(serverFailure(observed("s", [{ ...failedReplica("s", 0, ""), lastError: undefined }]))).toBeUndefined();
    expect(serverFailure(observed("s", [failedReplica("s", 0, "  \n")]))).toBe("server s failed: replica s-0: StartFailed: server exited with code 3 before it was ready");
  });

  it("a server that could not be made fails its leases on a lasting cause, not on a passing one", () => {
    expect(ensureFailure("s", backendError("docker", { _tag: "ImageNotFound", image: "x:1", message: "pull failed" }))).toBe("server s could not be made: docker: image 'x:1' not found: pull failed");
    expect(ensureFailure("s", backendError("docker", { _tag: "InvalidSpec", problems: ["GPU 3 not on this node"] }))).toMatch(/GPU 3 not on this node/);
    expect(ensureFailure("s", backendError("docker", { _tag: "StartFailed", replicaId: "s-0", message: "exited", logTail: "boom" }))).toMatch(/exited; its log ends:\nboom$/);
    expect(ensureFailure("s", backendError("docker", { _tag: "Unavailable", message: "engine unreachable" }))).toBeUndefined();
    expect(ensureFailure("s", backendError("docker", { _tag: "NotFound", serverId: "s" }))).toBeUndefined();
  });
});
