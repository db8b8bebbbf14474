import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, spawnBerthd, type BerthdProcess } from "./berthd-process.js";
import { generatePythonStubs, PYTHON, skipUnlessTools } from "./python-tools.js";

// End to end through an independent gRPC implementation: Debian's python3-grpcio (C core, not
// grpc-js) with stubs that protoc generates from Berth's .proto files at test time, against a
// berthd child process on the sim backend. If the protos, the wire or the error model drift
// from what a non-TypeScript client expects, this fails.

const skip = skipUnlessTools({ python: true });
const SCRIPT = join(REPO_ROOT, "apps/control-plane/test/external/python/berth_client.py");

interface Failure {
  readonly code: string;
  readonly details?: string;
  readonly fields?: readonly string[];
}
interface Seen {
  readonly health: { readonly overall: string; readonly lease_service: string; readonly unknown: Failure };
  readonly models: readonly string[];
  readonly create: { readonly phases: readonly string[]; readonly last_done: boolean; readonly id: string; readonly tenant: string; readonly server: string };
  readonly list: readonly { readonly name: string; readonly id: string; readonly phase: string }[];
  readonly list_ready: readonly string[];
  readonly list_paged: { readonly names: readonly string[]; readonly pages: number; readonly negative_size: Failure; readonly bad_token: Failure };
  readonly get: { readonly id: string; readonly phase: string; readonly models: readonly string[]; readonly labels: Record<string, string> };
  readonly renew: { readonly phase: string; readonly held_until: number; readonly created_at: number };
  readonly errors: Record<"duplicate" | "missing" | "invalid" | "bad_duration" | "unknown_model", Failure>;
  readonly release: { readonly phase: string; readonly get_by_id_after: string };
  readonly renew_released: Failure;
}

describe.skipIf(skip)("an independent Python gRPC client (Debian's grpcio)", () => {
  let berthd: BerthdProcess;
  let stubs: string;
  let seen: Seen;

  beforeAll(async () => {
    stubs = generatePythonStubs();
    berthd = await spawnBerthd();
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, stubs, berthd.grpc], { timeout: 60_000, encoding: "utf8" });
    seen = JSON.parse(stdout) as Seen;
  }, 150_000);
  afterAll(async () => {
    await berthd?.stop();
    if (stubs !== undefined) rmSync(stubs, { recursive: true, force: true });
    if (berthd !== undefined) rmSync(berthd.stateDir, { recursive: true, force: true });
  });

  it("grpc.health.v1 answers SERVING for berthd and its services, NOT_FOUND for others", () => {
    expect(seen.health.overall).toBe("SERVING");
    expect(seen.health.lease_service).toBe("SERVING");
    expect(seen.health.unknown.code).toBe("NOT_FOUND");
  });

  it("creates a lease and streams its progress to Ready", () => {
    expect(seen.models).toContain("simple");
    expect(seen.create.phases.at(-1)).toBe("LEASE_PHASE_READY");
    expect(seen.create.phases).toContain("LEASE_PHASE_LOADING");
    expect(seen.create.last_done).toBe(true);
    expect(seen.create.id).toMatch(/^l-/);
    expect(seen.create.tenant).toBe("default");
    expect(seen.create.server).not.toBe("");
  });

  it("lists (by label and by phase), gets and renews the lease", () => {
    expect(seen.list).toEqual([{ name: "py-lease", id: seen.create.id, phase: "LEASE_PHASE_READY" }]);
    expect(seen.list_ready).toContain("py-lease");
    expect(seen.list_paged).toMatchObject({ names: ["py-page-1", "py-page-2"], pages: 2 });
    expect(seen.list_paged.negative_size).toMatchObject({ code: "INVALID_ARGUMENT", fields: ["pageSize"] });
    expect(seen.list_paged.bad_token).toMatchObject({ code: "INVALID_ARGUMENT", fields: ["pageToken"] });
    expect(seen.get).toEqual({ id: seen.create.id, phase: "LEASE_PHASE_READY", models: ["simple"], labels: { client: "python" } });
    expect(seen.renew.phase).toBe("LEASE_PHASE_READY");
    // Renewed by 2h: held at least ~2 hours past its creation.
    expect(seen.renew.held_until - seen.renew.created_at).toBeGreaterThanOrEqual(2 * 3600 - 5);
  });

  it("answers with the standard codes, and INVALID_ARGUMENT carries every field path in google.rpc.BadRequest", () => {
    expect(seen.errors.duplicate.code).toBe("ALREADY_EXISTS");
    expect(seen.errors.missing.code).toBe("NOT_FOUND");
    expect(seen.errors.unknown_model.code).toBe("NOT_FOUND");
    expect(seen.errors.invalid.code).toBe("INVALID_ARGUMENT");
    expect(seen.errors.invalid.fields).toEqual(expect.arrayContaining(["name", "models", "resources.gpuMemory"]));
    expect(seen.errors.invalid.details).toContain("resources.gpuMemory");
    expect(seen.errors.bad_duration.code).toBe("INVALID_ARGUMENT");
    expect(seen.errors.bad_duration.fields).toEqual(["extendBy"]);
  });

  it("releases: the lease stays Released (by id too), and renewing it is FAILED_PRECONDITION", () => {
    expect(seen.release).toEqual({ phase: "LEASE_PHASE_RELEASED", get_by_id_after: "LEASE_PHASE_RELEASED" });
    expect(seen.renew_released.code).toBe("FAILED_PRECONDITION");
  });
});
