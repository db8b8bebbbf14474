import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { loadBerthProto } from "@berth/api/berth";
import { collect, eventually, startBerthd, tempStateDir } from "./harness.js";
import { newSchemaName, testPostgresUrl, withAdmin } from "./store/postgres-env.js";

// Persist first, act second: a berthd stopped and started again on the same state directory
// has every lease and server it had, and converges the backend to them.

const spec = (name: string) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" } });

describe("berthd restart", () => {
  for (const snapshotEvery of [1000, 3]) {
    it(`keeps every lease and converges (snapshot every ${snapshotEvery} events)`, async () => {
      const stateDir = tempStateDir();
      const config = { store: { snapshotEvery } };
      const first = await startBerthd({ stateDir, config });
      const client = first.client();
      await collect(client.lease.create({ spec: spec("kept"), wait: true }));
      await collect(client.lease.create({ spec: spec("dropped"), wait: true }));
      await client.lease.release({ name: "dropped" });
      const before = await client.lease.list({});
      const kept = await client.lease.get({ name: "kept" });
      const serversBefore = await client.server.list();
      await first.stop();

      const second = await startBerthd({ stateDir, config });
      try {
        const again = second.client();
        const after = await again.lease.list({});
        expect(after.leases.map((l) => [l.id, l.name])).toEqual(before.leases.map((l) => [l.id, l.name]));
        expect(after.leases.find((l) => l.name === "dropped")?.phase).toBe("LEASE_PHASE_RELEASED");
        // The sim backend's servers died with the process: the executor starts them again, the
        // restarted server reloads the lease (Loading), and it is Ready again on the same server.
        const keptAfter = await eventually("kept Ready again", async () => {
          const lease = await again.lease.get({ name: "kept" });
          return lease.phase === "LEASE_PHASE_READY" ? lease : undefined;
        });
        expect(keptAfter.placement?.serverId).toBe(kept.placement?.serverId);
        // The sim backend lost its servers with the process: the executor made them again.
        const servers = await eventually("servers converged", async () => {
          const list = await again.server.list();
          return list.servers.length === serversBefore.servers.length && list.servers.every((s) => s.state === "Ready") ? list : undefined;
        });
        expect(servers.servers.map((s) => s.id)).toEqual(serversBefore.servers.map((s) => s.id));
        // New work after the restart gets fresh ids.
        const created = await collect(again.lease.create({ spec: spec("after"), wait: true }));
        expect(created.at(-1)?.lease?.phase).toBe("LEASE_PHASE_READY");
        expect(created.at(-1)?.lease?.placement?.serverId).not.toBe(kept.placement?.serverId);
        // The released name is free again.
        const reused = await collect(again.lease.create({ spec: spec("dropped") }));
        expect(reused[0]?.lease?.id).not.toBe(before.leases.find((l) => l.name === "dropped")?.id);
      } finally {
        await second.stop();
      }
    });
  }

  it("keeps every lease on PostgreSQL too", async () => {
    const url = testPostgresUrl();
    const schema = newSchemaName();
    const config = { store: { kind: "postgres", url, schema } };
    try {
      const first = await startBerthd({ config });
      const created = await collect(first.client().lease.create({ spec: spec("on-postgres"), wait: true }));
      await first.stop();
      const second = await startBerthd({ config });
      try {
        const lease = await second.client().lease.get({ name: "on-postgres" });
        expect(lease.id).toBe(created.at(-1)?.lease?.id);
      } finally {
        await second.stop();
      }
    } finally {
      await withAdmin(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    }
  });

  it("a retried Create with the same idempotency key makes one lease", async () => {
    const berthd = await startBerthd();
    const Client = loadBerthProto().LeaseService.Client;
    const raw = new Client(berthd.grpc, grpc.credentials.createInsecure());
    try {
      // The typed client sends no custom metadata: call the generated method with the key.
      const create = () =>
        new Promise<{ lease: { id: string } }[]>((resolve, reject) => {
          const metadata = new grpc.Metadata();
          metadata.set("idempotency-key", "request-1");
          const out: { lease: { id: string } }[] = [];
          const call = (raw as unknown as { Create(r: unknown, m: grpc.Metadata): grpc.ClientReadableStream<{ lease: { id: string } }> }).Create({ spec: spec("once") }, metadata);
          call.on("data", (m) => out.push(m));
          call.on("error", reject);
          call.on("end", () => resolve(out));
        });
      const one = await create();
      const two = await create();
      expect(one[0]?.lease.id).toMatch(/^l-/);
      expect(two[0]?.lease.id).toBe(one[0]?.lease.id);
      expect((await berthd.client().lease.list({})).leases.filter((l) => l.name === "once")).toHaveLength(1);
    } finally {
      raw.close();
      await berthd.stop();
    }
  });
});
