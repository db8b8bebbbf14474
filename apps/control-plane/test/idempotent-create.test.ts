import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BerthClient } from "@berth/api/berth";
import { codeOf, collect, startBerthd, type RunningBerthd } from "./harness.js";

// createBerthClient's per-call idempotency key against a real berthd: a retried Create is one lease.

const spec = (name: string) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" } });

describe("Create with an idempotency key (createBerthClient per-call metadata)", () => {
  let berthd: RunningBerthd;
  let a: BerthClient;
  let b: BerthClient;

  beforeAll(async () => {
    berthd = await startBerthd({
      config: {
        auth: { tokens: [{ token: "a-token", tenant: "team-a" }, { token: "b-token", tenant: "team-b" }] },
        nodes: [{ name: "n1", gpus: [{ model: "A10", memory: "8Gi" }] }],
      },
    });
    a = berthd.client("a-token");
    b = berthd.client("b-token");
  });
  afterAll(async () => {
    await berthd?.stop();
  });

  it("answers a retry with the key's lease instead of a second one (or ALREADY_EXISTS)", async () => {
    const first = await collect(a.lease.create({ spec: spec("retried") }, { idempotencyKey: "k-1" }));
    const again = await collect(a.lease.create({ spec: spec("retried") }, { idempotencyKey: "k-1" }));
    expect(first[0]?.lease?.id).toMatch(/^l-/);
    expect(again[0]?.lease?.id).toBe(first[0]?.lease?.id);
    expect((await a.lease.list({})).leases.filter((l) => l.name === "retried")).toHaveLength(1);
  });

  it("without a key (or with another key) the same name is a duplicate", async () => {
    await collect(a.lease.create({ spec: spec("named") }, { idempotencyKey: "k-2" }));
    expect(await codeOf(collect(a.lease.create({ spec: spec("named") })))).toBe(grpc.status.ALREADY_EXISTS);
    expect(await codeOf(collect(a.lease.create({ spec: spec("named") }, { idempotencyKey: "k-3" })))).toBe(grpc.status.ALREADY_EXISTS);
  });

  it("keys are per tenant: another tenant's identical key makes its own lease", async () => {
    const mine = await collect(a.lease.create({ spec: spec("tenant-a") }, { idempotencyKey: "shared" }));
    const theirs = await collect(b.lease.create({ spec: spec("tenant-b") }, { metadata: { "idempotency-key": "shared" } }));
    expect(theirs[0]?.lease?.id).not.toBe(mine[0]?.lease?.id);
    expect(theirs[0]?.lease?.tenant).toBe("team-b");
  });
});
