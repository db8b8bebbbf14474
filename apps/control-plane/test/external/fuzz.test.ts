import { rmSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBerthClient, fieldViolationsOf, grpcStatusName, isServiceError, loadBerthProto, type BerthClient } from "@berth/api/berth";
import { collect, SIM_CONFIG, spawnBerthd, type BerthdProcess } from "./berthd-process.js";

// fast-check throws invalid and random requests at every RPC of a berthd child process, with
// every kind of caller (admin, tenant, unknown token, none). berthd must never crash (health
// stays SERVING, the process stays up), and every answer is OK or a well-formed status among the
// codes that RPC promises: never UNKNOWN or INTERNAL (a bug that escaped to the wire), and an
// INVALID_ARGUMENT names the fields in its google.rpc.BadRequest detail.

const S = grpc.status;
const ALWAYS = [S.OK, S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.INVALID_ARGUMENT];
const EXPECTED: Readonly<Record<string, readonly grpc.status[]>> = {
  "lease.create": [...ALWAYS, S.NOT_FOUND, S.ALREADY_EXISTS, S.FAILED_PRECONDITION, S.RESOURCE_EXHAUSTED],
  "lease.get": [...ALWAYS, S.NOT_FOUND],
  "lease.list": ALWAYS,
  "lease.renew": [...ALWAYS, S.NOT_FOUND, S.FAILED_PRECONDITION],
  "lease.release": [...ALWAYS, S.NOT_FOUND],
  "lease.explain": [...ALWAYS, S.NOT_FOUND],
  "lease.watch": [...ALWAYS, S.CANCELLED],
  "pool.create": [...ALWAYS, S.ALREADY_EXISTS, S.FAILED_PRECONDITION],
  "pool.get": [...ALWAYS, S.NOT_FOUND],
  "pool.list": ALWAYS,
  "pool.delete": [...ALWAYS, S.NOT_FOUND, S.FAILED_PRECONDITION],
  "pool.status": [...ALWAYS, S.NOT_FOUND],
  "allowlist.append": ALWAYS,
  "allowlist.list": ALWAYS,
  "allowlist.remove": [...ALWAYS, S.FAILED_PRECONDITION],
  "server.list": ALWAYS,
  "server.get": [...ALWAYS, S.NOT_FOUND],
  "repository.listModels": [...ALWAYS, S.NOT_FOUND],
};

const AUTH = {
  tokens: [
    { token: "admin-token", tenant: "ops", admin: true },
    { token: "a-token", tenant: "team-a" },
  ],
  tenants: { "team-a": { gpuMemoryQuota: "4Gi" } },
};

// ---- arbitraries: mostly plausible-but-wrong values, some valid ones, some pure noise ----

const names = fc.oneof(
  fc.constantFrom("", "known", "simple", "Bad_Name", "-x", "a".repeat(64), "a".repeat(300), "../etc/passwd", "\u0000", "名前", "l-000000000000", "s-1", "default"),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  fc.string({ maxLength: 40 }),
);
const quantities = fc.oneof(fc.constantFrom("", "1Gi", "512Mi", "4Gb", "-1Gi", "0", "1e999", "NaN", "999999Ei", "1.5Gi", "Gi", "500m"), fc.string({ maxLength: 12 }));
const durations = fc.oneof(fc.constantFrom("", "30m", "1h", "2h", "0s", "-5m", "forever", "1e9h", "1.5h", "99999999999d"), fc.string({ maxLength: 10 }));
const int32 = fc.oneof(fc.constantFrom(0, 1, 2, -1, 2_147_483_647, -2_147_483_648), fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }));
const images = fc.oneof(fc.constantFrom("", "berth-model-server", "example.com/x:1", "UPPER:case", "a b", "*"), fc.string({ maxLength: 30 }));
const strings = fc.array(fc.oneof(names, images), { maxLength: 4 });

const resources = fc.option(
  fc.record({ gpuMemory: quantities, gpus: int32, gpuMilli: int32, cpu: quantities, memory: quantities, gpuModels: fc.array(fc.constantFrom("A10", "H100", "", "x"), { maxLength: 2 }) }, { requiredKeys: [] }),
  { nil: null },
);
const leaseSpec = fc.option(
  fc.record(
    {
      name: names,
      models: fc.array(fc.record({ name: fc.oneof(fc.constantFrom("simple", "mlp_fp32", "broken", "no-such-model", ""), names), version: fc.oneof(fc.constant(0), fc.integer({ min: -5, max: 1_000_000 })), repository: fc.constantFrom("", "demo", "elsewhere") }, { requiredKeys: [] }), { maxLength: 3 }),
      pool: fc.constantFrom("", "fz-pool", "no-pool"),
      quota: quantities,
      resources,
      image: images,
      minDuration: durations,
      renewal: fc.option(fc.record({ enabled: fc.boolean(), activityWindow: durations }), { nil: null }),
      autoscaling: fc.option(fc.record({ metric: fc.constantFrom("", "queue", "rps", "?"), target: fc.double({ noNaN: false }), minReplicas: int32, maxReplicas: int32, policy: fc.constantFrom("", "hpa", "berth", "zz") }), { nil: null }),
      colocation: fc.option(fc.record({ with: strings, notWith: strings }), { nil: null }),
      labels: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
    },
    { requiredKeys: [] },
  ),
  { nil: null },
);
/** A valid spec with at most one field made wrong: reaches the checks behind validation (model, pool, image, quota, capacity, duplicates). */
const nearlyValidSpec = fc
  .record({
    name: fc.oneof(fc.constantFrom("known", "dup"), fc.stringMatching(/^fz-[a-z0-9]{1,8}$/)),
    models: fc.constantFrom([{ name: "simple" }], [{ name: "mlp_fp32" }, { name: "simple" }], [{ name: "no-such-model" }], [{ name: "simple", repository: "elsewhere" }], [{ name: "simple", version: 99 }]),
    resources: fc.record({ gpuMemory: fc.constantFrom("256Mi", "256Mi", "1Gi", "3Gi", "64Gi", "1Ti") }),
    pool: fc.constantFrom("", "", "", "fz-pool", "no-pool"),
    quota: fc.constantFrom("", "1Gi"),
    image: fc.constantFrom("", "", "", "example.com/not-allowed:1"),
  })
  .map((spec) => (spec.pool === "" ? { ...spec, quota: "" } : { ...spec, quota: spec.quota || "1Gi" }));

const poolSpec = fc.option(
  fc.record({ name: names, image: images, resources, minInstances: int32, maxInstances: int32, quotaPerInstance: quantities, group: fc.constantFrom("", "onnx", "pytorch", "x") }, { requiredKeys: [] }),
  { nil: null },
);
const phases = fc.array(fc.constantFrom("LEASE_PHASE_READY", "LEASE_PHASE_FAILED", "LEASE_PHASE_UNSPECIFIED"), { maxLength: 3 });
/** Page sizes: mostly usable (0 is no limit, above 1000 is capped), some negative or extreme. */
const pageSizes = fc.oneof(fc.constantFrom(0, 1, 2, 1000, 5000), int32);
/** Page tokens: none, noise, base64url of the wrong JSON, and ones shaped like berthd's (right or wrong filters). */
const pageTokens = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  fc.string({ maxLength: 30 }),
  fc.constantFrom("e30", "bnVsbA", "W10", "!!", "="),
  fc
    .record({ v: fc.constantFrom(1, 2, "1"), n: fc.oneof(names, fc.integer()), c: fc.oneof(fc.integer(), fc.double(), fc.constant(null)), i: names, f: fc.string({ maxLength: 16 }) }, { requiredKeys: [] })
    .map((token) => Buffer.from(JSON.stringify(token), "utf8").toString("base64url")),
);
const selectors = fc.oneof(fc.constantFrom("", "a=b", "a!=b", "!a", "a", "=", "a==", "a=b,,c", "!!a", "a b=c"), fc.string({ maxLength: 20 }));

type Call = { readonly rpc: keyof typeof EXPECTED; readonly run: (c: BerthClient) => Promise<unknown> };
const call = (rpc: keyof typeof EXPECTED, run: (c: BerthClient) => Promise<unknown>): Call => ({ rpc, run });

/** Watch: read what arrives in 50 ms, then leave (CANCELLED is how leaving ends it). */
const watchBriefly = async (c: BerthClient, request: object) => {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 50);
  try {
    for await (const _ of c.lease.watch(request, { signal: abort.signal })) void _;
  } finally {
    clearTimeout(timer);
  }
};

const calls: fc.Arbitrary<Call> = fc.oneof(
  // Create is the widest surface: drawn as often as six other RPCs.
  {
    weight: 6,
    arbitrary: fc
      .record({ spec: fc.oneof(leaseSpec, nearlyValidSpec), wait: fc.boolean(), waitTimeout: fc.option(fc.record({ seconds: fc.integer({ min: -10, max: 1 }), nanos: fc.integer({ min: 0, max: 999_999_999 }) }), { nil: null }) })
      .map((r) => call("lease.create", (c) => collect(c.lease.create(r)))),
  },
  names.map((name) => call("lease.get", (c) => c.lease.get({ name }))),
  fc.record({ tenant: fc.oneof(fc.constantFrom("", "team-a", "ops"), names), phases, labelSelector: selectors, pageSize: pageSizes, pageToken: pageTokens }).map((r) => call("lease.list", (c) => c.lease.list(r as never))),
  // A real token (the first page's) continued with random filters and sizes: OK when they match, INVALID_ARGUMENT otherwise.
  fc
    .record({ tenant: fc.constantFrom("", "team-a", "ops"), phases, labelSelector: fc.constantFrom("", "a=b"), pageSize: pageSizes })
    .map((r) => call("lease.list", async (c) => c.lease.list({ ...r, pageToken: (await c.lease.list({ pageSize: 1 })).nextPageToken }))),
  fc.record({ name: names, extendBy: durations }).map((r) => call("lease.renew", (c) => c.lease.renew(r))),
  names.map((name) => call("lease.release", (c) => c.lease.release({ name }))),
  names.map((name) => call("lease.explain", (c) => c.lease.explain({ name }))),
  fc.record({ tenant: fc.constantFrom("", "team-a", "other"), name: names }).map((r) => call("lease.watch", (c) => watchBriefly(c, r))),
  poolSpec.map((spec) => call("pool.create", (c) => c.pool.create({ spec }))),
  names.map((name) => call("pool.get", (c) => c.pool.get({ name }))),
  fc.constant(call("pool.list", (c) => c.pool.list())),
  names.map((name) => call("pool.delete", (c) => c.pool.delete({ name }))),
  names.map((name) => call("pool.status", (c) => c.pool.status({ name }))),
  fc.array(images, { maxLength: 3 }).map((list) => call("allowlist.append", (c) => c.allowlist.append({ images: list }))),
  fc.constant(call("allowlist.list", (c) => c.allowlist.list())),
  fc.array(images, { maxLength: 3 }).map((list) => call("allowlist.remove", (c) => c.allowlist.remove({ images: list }))),
  fc.constant(call("server.list", (c) => c.server.list())),
  names.map((id) => call("server.get", (c) => c.server.get({ id }))),
  fc.constantFrom("", "demo", "elsewhere", "Bad Repo").map((repository) => call("repository.listModels", (c) => c.repository.listModels({ repository }))),
);

describe("fuzzing berthd's API", () => {
  let berthd: BerthdProcess;
  let clients: BerthClient[];
  const seen = new Map<string, number>();

  beforeAll(async () => {
    berthd = await spawnBerthd({ config: { ...SIM_CONFIG, auth: AUTH } });
    const options = { callTimeoutMs: 10_000 };
    clients = [
      createBerthClient(berthd.grpc, { ...options, token: "admin-token" }),
      createBerthClient(berthd.grpc, { ...options, token: "a-token" }),
      createBerthClient(berthd.grpc, { ...options, token: "no-such-token" }),
      createBerthClient(berthd.grpc, options),
    ];
    // Something for the names to find: a lease and a pool.
    await collect(clients[0]!.lease.create({ spec: { name: "known", models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" } }, wait: true }));
    await clients[0]!.pool.create({ spec: { name: "fz-pool", resources: { gpuMemory: "8Gi" }, minInstances: 0, maxInstances: 2, quotaPerInstance: "8Gi" } });
  }, 150_000);
  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    await berthd?.stop();
    if (berthd !== undefined) rmSync(berthd.stateDir, { recursive: true, force: true });
    console.info(`fuzz: answers by rpc and code: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  });

  it("answers every request with OK or an expected, well-formed status", async () => {
    await fc.assert(
      fc.asyncProperty(calls, fc.nat({ max: 3 }), async ({ rpc, run }, who) => {
        let code: grpc.status = S.OK;
        try {
          await run(clients[who]!);
        } catch (error) {
          if (!isServiceError(error)) throw error;
          code = error.code;
          expect(typeof error.details).toBe("string");
          expect(error.details.length, `${rpc} ${grpcStatusName(code)} has no message`).toBeGreaterThan(0);
          if (code === S.INVALID_ARGUMENT) {
            const violations = fieldViolationsOf(error);
            expect(violations.length, `${rpc} INVALID_ARGUMENT without field violations: ${error.details}`).toBeGreaterThan(0);
            expect(violations.some((v) => v.field !== ""), `${rpc}: no field path in ${JSON.stringify(violations)}`).toBe(true);
            for (const v of violations) expect(v.description).not.toBe("");
          }
        }
        const key = `${rpc} ${grpcStatusName(code)}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        expect(EXPECTED[rpc], `${rpc} answered ${grpcStatusName(code)}`).toContain(code);
      }),
      { numRuns: 400, seed: Number(process.env.BERTH_FUZZ_SEED ?? 20261124) },
    );
    // The run reached well beyond the happy path: several codes, and some calls succeeded.
    const codes = new Set([...seen.keys()].map((k) => k.split(" ")[1]));
    for (const expected of ["OK", "INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED", "PERMISSION_DENIED"]) expect([...codes]).toContain(expected);
    expect(seen.get("lease.create OK") ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it("survives undecodable and random bytes on every method (grpc-js rejects what it cannot decode)", async () => {
    const berth = loadBerthProto();
    const raw = new grpc.Client(berthd.grpc, grpc.credentials.createInsecure());
    const paths = Object.values(berth).flatMap((s) => Object.values(s.service).filter((m) => !m.responseStream).map((m) => m.path));
    const send = (path: string, bytes: Uint8Array) =>
      new Promise<grpc.status>((resolve) => {
        const metadata = new grpc.Metadata();
        metadata.set("authorization", "Bearer admin-token");
        raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), metadata, { deadline: Date.now() + 10_000 }, (error) => resolve(error === null ? S.OK : error.code));
      });
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), fc.uint8Array({ maxLength: 64 }), async (path, bytes) => {
          const code = await send(path, bytes);
          // INTERNAL is grpc-js's own answer to a body that is not the message ("Error deserializing request").
          expect([...ALWAYS, S.NOT_FOUND, S.ALREADY_EXISTS, S.FAILED_PRECONDITION, S.RESOURCE_EXHAUSTED, S.INTERNAL], `${path} answered ${grpcStatusName(code)}`).toContain(code);
        }),
        { numRuns: 150, seed: 7 },
      );
    } finally {
      raw.close();
    }
  }, 150_000);

  it("is still up and SERVING afterwards", async () => {
    const health = await fetch(`${berthd.http}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${berthd.http}/readyz`);
    expect(ready.status).toBe(200);
    const c = clients[0]!;
    expect((await c.lease.get({ name: "known" })).phase).toBe("LEASE_PHASE_READY");
    const exited = await Promise.race([berthd.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))]);
    expect(exited).toBe(false);
    expect(berthd.output()).not.toMatch(/rpc crashed|UnhandledPromiseRejection|uncaughtException/);
  });
});
