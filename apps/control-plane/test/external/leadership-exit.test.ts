import { afterAll, describe, expect, it } from "vitest";
import { LEADERSHIP_LOST_EXIT_CODE } from "../../src/leadership/serve.js";
import { newSchemaName, testPostgresUrl, withAdmin } from "../store/postgres-env.js";
import { SIM_CONFIG, spawnBerthd, type BerthdProcess } from "./berthd-process.js";

// berthd as operators run it (src/main.ts), on PostgreSQL with `store.onLeadershipLost: exit`:
// terminating its lock session makes it exit with 75 for its supervisor; a SIGTERM still ends
// it cleanly (0).

const url = testPostgresUrl();
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await withAdmin(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).catch(() => undefined);
});

const start = (schema: string): Promise<BerthdProcess> =>
  spawnBerthd({ config: { ...SIM_CONFIG, store: { kind: "postgres", url, schema, replica: "solo", onLeadershipLost: "exit" } } });

describe("berthd process leadership", () => {
  it("exits with 75 once it has lost its lock", async () => {
    const schema = newSchemaName();
    schemas.push(schema);
    const berthd = await start(schema);
    try {
      expect((await berthd.client().allowlist.list()).images.length).toBeGreaterThan(0);
      await withAdmin(url, (c) => c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'berthd-leader:solo'`));
      const exit = await Promise.race([berthd.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("berthd did not exit")), 15_000))]);
      expect(exit.code).toBe(LEADERSHIP_LOST_EXIT_CODE);
      expect(berthd.output()).toContain("lost the lead");
    } finally {
      await berthd.stop();
    }
  }, 60_000);

  it("still stops cleanly on SIGTERM", async () => {
    const schema = newSchemaName();
    schemas.push(schema);
    const berthd = await start(schema);
    await berthd.stop();
    expect((await berthd.exited).code).toBe(0);
  }, 60_000);
});
