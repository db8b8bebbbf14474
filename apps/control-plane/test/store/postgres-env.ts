import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Effect, type Scope } from "effect";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../../..");
let cached: string | undefined;

/**
 * The PostgreSQL the tests run against, for real: BERTH_TEST_PG_URL when set; in CI its absence
 * is a failure (never a silent skip); locally scripts/ci/start-postgres.sh installs and starts one.
 */
export const testPostgresUrl = (): string => {
  if (cached !== undefined) return cached;
  const fromEnv = process.env.BERTH_TEST_PG_URL;
  if (fromEnv !== undefined && fromEnv !== "") return (cached = fromEnv);
  if (process.env.CI === "true") {
    throw new Error("BERTH_TEST_PG_URL is not set: CI must start PostgreSQL (scripts/ci/start-postgres.sh prints the URL) and export it");
  }
  cached = execFileSync(resolve(repoRoot, "scripts/ci/start-postgres.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 300_000 }).trim();
  return cached;
};

export const withAdmin = <A>(url: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url });
  return client.connect().then(() => f(client).finally(() => client.end()));
};

export const newSchemaName = (): string => `t_${randomBytes(6).toString("hex")}`;

/** A schema of the test's own, dropped when the scope closes (so parallel test files never meet). */
export const freshSchema = (url: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(newSchemaName),
    (schema) => Effect.promise(() => withAdmin(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).catch(() => undefined)),
  );
