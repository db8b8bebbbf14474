import { describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { usePeer } from "./peer-session.js";

const session = usePeer();
const berth = session.berth;

const createKeys = (): unknown[] => session.peer.calls.filter((c) => c.method === "LeaseService.Create").map((c) => c.idempotencyKey);

describe("lease create idempotency keys", () => {
  it("sends --idempotency-key as the call's idempotency-key metadata", async () => {
    const created = await berth("lease", "create", "web", "-m", "simple", "--idempotency-key", "deploy-42");
    expect(created.code).toBe(0);
    expect(createKeys()).toEqual([["deploy-42"]]);
  });

  it("without the flag sends a fresh key on every run", async () => {
    expect((await berth("lease", "create", "one", "-m", "simple")).code).toBe(0);
    expect((await berth("lease", "create", "two", "-m", "simple")).code).toBe(0);
    const [first, second] = createKeys() as [string[], string[]];
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(first[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(second[0]).not.toBe(first[0]);
  });

  it("retries a create that found berthd unavailable with the same key", async () => {
    session.peer.failNext("LeaseService.Create", { code: grpc.status.UNAVAILABLE, details: "berthd is stepping down" });
    const created = await berth("lease", "create", "web", "-m", "simple", "--wait");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("lease/web Ready");
    const keys = createKeys() as string[][];
    expect(keys).toHaveLength(2);
    expect(keys[1]).toEqual(keys[0]);
  });

  it("gives up after three unavailable answers (exit 9), every one with the same key", async () => {
    const unavailable = { code: grpc.status.UNAVAILABLE, details: "no leader" };
    // failNext holds one failure per method: arm the next one as each is used.
    session.peer.failNext("LeaseService.Create", unavailable);
    void waitForCalls(1).then(() => session.peer.failNext("LeaseService.Create", unavailable));
    void waitForCalls(2).then(() => session.peer.failNext("LeaseService.Create", unavailable));
    const created = await berth("lease", "create", "web", "-m", "simple");
    expect(created.code).toBe(9);
    const keys = createKeys() as string[][];
    expect(keys).toHaveLength(3);
    expect(new Set(keys.map((k) => k[0])).size).toBe(1);
  });

  it("refuses an empty key before calling berthd", async () => {
    const created = await berth("lease", "create", "web", "-m", "simple", "--idempotency-key=");
    expect(created.code).toBe(2);
    expect(createKeys()).toEqual([]);
  });
});

const waitForCalls = async (n: number): Promise<void> => {
  while (createKeys().length < n) await new Promise((resolve) => setTimeout(resolve, 10));
};
