import { beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import * as grpc from "@grpc/grpc-js";
import { invalidArgumentError } from "@berth/api/berth";
import { runCli } from "./harness.js";
import { usePeer } from "./peer-session.js";

const session = usePeer();
const berth = session.berth;

const lastRequest = (method: string): unknown => session.peer.calls.filter((c) => c.method === method).at(-1)?.request;

describe("lease round trips", () => {
  it("creates, lists, shows, renews and releases a lease", async () => {
    const created = await berth("lease", "create", "web", "-m", "simple", "--gpu-memory", "4Gi");
    expect(created).toMatchObject({ code: 0, stdout: "lease/web created (Pending)\n" });

    const list = await berth("lease", "list", "-o", "json");
    expect(list.code).toBe(0);
    const leases = JSON.parse(list.stdout) as { name: string; phase: string; models: string[] }[];
    expect(leases).toHaveLength(1);
    expect(leases[0]).toMatchObject({ name: "web", phase: "Pending", models: ["simple"] });

    const status = await berth("lease", "status", "web");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^Name:\s+web$/m);
    expect(status.stdout).toMatch(/^Phase:\s+Pending$/m);

    const renewed = await berth("lease", "renew", "web", "--extend-by", "1h", "-o", "json");
    expect(renewed.code).toBe(0);
    const expires = Date.parse((JSON.parse(renewed.stdout) as { expiresAt: string }).expiresAt);
    expect(expires - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(lastRequest("LeaseService.Renew")).toEqual({ name: "web", extendBy: "1h" });

    const released = await berth("lease", "release", "web");
    expect(released).toMatchObject({ code: 0, stdout: "lease/web released\n" });
    expect(JSON.parse((await berth("lease", "list", "-o", "json")).stdout)).toEqual([]);
  });

  it("leaves GPU memory to berthd when none is given (berth lease create NAME -m simple --wait)", async () => {
    const run = await berth("lease", "create", "plain", "-m", "simple", "--wait");
    expect(run.code).toBe(0);
    expect((lastRequest("LeaseService.Create") as { spec: { resources: unknown } }).spec.resources).toBeNull();
  });

  it("reads a spec file with -f, flags overriding its fields", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "berth-spec-")), "lease.yaml");
    writeFileSync(file, "name: from-file\nmodels: [simple@demo, { name: densenet_onnx, version: 2 }]\nresources: { gpuMemory: 2Gi, cpu: 2 }\nminDuration: 1h\n");
    const run = await berth("lease", "create", "-f", file, "--gpu-memory", "3Gi");
    expect(run.code).toBe(0);
    expect((lastRequest("LeaseService.Create") as { spec: unknown }).spec).toMatchObject({
      name: "from-file",
      models: [{ name: "simple", repository: "demo" }, { name: "densenet_onnx", version: 2, repository: "" }],
      resources: { gpuMemory: "3Gi", cpu: "2" },
      minDuration: "1h",
    });
  });

  it("maps every create flag onto the LeaseSpec message, quantities and durations as written", async () => {
    const run = await berth(
      "lease", "create", "llm", "-m", "llama:3@hf", "-m", "simple", "--gpu-memory", "20Gi", "--gpus", "1", "--cpu", "500m",
      "--duration", "45m", "--activity-window", "2m", "--min-replicas", "1", "--max-replicas", "4",
      "--metric", "queue_time", "--target", "200ms", "--policy", "berth", "-l", "team=nlp", "--not-with", "web",
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const request = lastRequest("LeaseService.Create") as { spec: Record<string, unknown>; wait: boolean };
    expect(request.wait).toBe(false);
    expect(request.spec).toMatchObject({
      name: "llm",
      models: [{ name: "llama", version: 3, repository: "hf" }, { name: "simple", version: 0, repository: "" }],
      pool: "",
      minDuration: "45m",
      resources: { gpuMemory: "20Gi", gpus: 1, cpu: "500m", memory: "" },
      renewal: { enabled: true, activityWindow: "2m" },
      autoscaling: { metric: "queue_time", target: 200, minReplicas: 1, maxReplicas: 4, policy: "berth" },
      colocation: { with: [], notWith: ["web"] },
      labels: { team: "nlp" },
    });
  });

  it("sends a pool lease with its quota, and --no-renew as renewal disabled", async () => {
    expect((await berth("lease", "create", "shared", "-m", "simple@demo", "--pool", "small", "--quota", "2Gi", "--no-renew")).code).toBe(0);
    expect((lastRequest("LeaseService.Create") as { spec: unknown }).spec).toMatchObject({
      pool: "small", quota: "2Gi", models: [{ name: "simple", repository: "demo" }], renewal: { enabled: false },
    });
  });

  it("checks the spec before calling and prints every problem with its field path (exit 3)", async () => {
    const run = await berth("lease", "create", "Web", "-m", "bad name", "--gpu-memory", "4Gb", "--duration", "soon");
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("the lease spec has 4 problems");
    for (const path of ["name:", "models[0]:", "resources.gpuMemory:", "minDuration:"]) expect(run.stderr).toContain(`  ${path}`);
    expect(session.peer.calls.filter((c) => c.method === "LeaseService.Create")).toHaveLength(0);
  });

  it("filters the list by phase and label selector", async () => {
    await berth("lease", "create", "a", "-m", "simple", "--gpu-memory", "1Gi", "-l", "team=x");
    await berth("lease", "create", "b", "-m", "simple", "--gpu-memory", "1Gi", "-l", "team=y");
    const run = await berth("lease", "list", "--phase", "Pending", "-l", "team=y", "--porcelain");
    expect(lastRequest("LeaseService.List")).toEqual({ tenant: "", phases: ["LEASE_PHASE_PENDING"], labelSelector: "team=y", pageSize: 500, pageToken: "" });
    expect(run.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0])).toEqual(["b"]);
  });

  it("fetches the list page by page with --chunk-size, keeping the filters on every page", async () => {
    for (const name of ["p1", "p2", "p3"]) await berth("lease", "create", name, "-m", "simple", "--gpu-memory", "1Gi", "-l", "team=z");
    const before = session.peer.calls.length;
    const run = await berth("lease", "list", "-l", "team=z", "--chunk-size", "2", "--porcelain");
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0])).toEqual(["p1", "p2", "p3"]);
    const pages = session.peer.calls.slice(before).filter((c) => c.method === "LeaseService.List").map((c) => c.request);
    expect(pages).toEqual([
      { tenant: "", phases: [], labelSelector: "team=z", pageSize: 2, pageToken: "" },
      { tenant: "", phases: [], labelSelector: "team=z", pageSize: 2, pageToken: "2" },
    ]);
  });
});

describe("output formats", () => {
  beforeEach(async () => {
    await berth("lease", "create", "web", "-m", "simple@demo", "--gpu-memory", "4Gi", "--wait");
    await berth("lease", "create", "batch", "-m", "densenet_onnx", "--gpu-memory", "2Gi");
  });

  it("prints an aligned table with NAME PHASE MODELS SERVER EXPIRES AGE", async () => {
    const run = await berth("lease", "list");
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0].split(/\s{3,}/)).toEqual(["NAME", "PHASE", "MODELS", "SERVER", "EXPIRES", "AGE"]);
    expect(lines).toHaveLength(3);
    const phaseColumn = lines[0].indexOf("PHASE");
    expect(lines.slice(1).map((l) => l.slice(phaseColumn).split(/\s+/)[0]).sort()).toEqual(["Pending", "Ready"]);
    const web = lines.find((l) => l.startsWith("web"));
    expect(web).toMatch(/^web\s+Ready\s+simple@demo\s+s-1\s+(29|30)m\s+\d+s$/);
  });

  it("adds the wide columns with -o wide", async () => {
    const header = (await berth("lease", "list", "-o", "wide")).stdout.split("\n")[0];
    for (const column of ["NAME", "PHASE", "POOL", "NODE", "REPLICAS", "ENDPOINTS"]) expect(header).toContain(column);
  });

  it("prints JSON and YAML arrays with stable camelCase keys and plain phase words", async () => {
    const json = JSON.parse((await berth("lease", "list", "-o", "json")).stdout) as Record<string, unknown>[];
    const yaml = parseYaml((await berth("lease", "list", "-o", "yaml")).stdout) as Record<string, unknown>[];
    expect(yaml).toEqual(json);
    const web = json.find((l) => l.name === "web");
    expect(web).toMatchObject({ name: "web", phase: "Ready", models: ["simple@demo"], server: "s-1", node: "node-a", readyReplicas: 1, endpoints: ["127.0.0.1:8000"] });
    expect(Object.keys(web ?? {})).toEqual(expect.arrayContaining(["name", "id", "phase", "createdAt", "expiresAt", "failureReason", "conditions", "spec"]));
    expect(typeof web?.createdAt).toBe("string");
    expect(Number.isNaN(Date.parse(web?.createdAt as string))).toBe(false);
  });

  it("prints --porcelain as tab-separated fields with no header and absolute times", async () => {
    const run = await berth("lease", "list", "--porcelain");
    const rows = run.stdout.trimEnd().split("\n").map((l) => l.split("\t"));
    expect(rows).toHaveLength(2);
    const web = rows.find((r) => r[0] === "web");
    expect(web?.slice(0, 4)).toEqual(["web", "Ready", "simple@demo", "s-1"]);
    expect(web?.[4]).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const batch = rows.find((r) => r[0] === "batch");
    expect(batch?.slice(0, 4)).toEqual(["batch", "Pending", "densenet_onnx", "-"]);
    expect(run.stdout).not.toMatch(/NAME|\x1b/);
  });

  it("prints one object (not an array) for status -o json/yaml", async () => {
    const json = JSON.parse((await berth("lease", "status", "web", "-o", "json")).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ name: "web", phase: "Ready" });
    expect(parseYaml((await berth("lease", "status", "web", "-o", "yaml")).stdout)).toEqual(json);
  });

  it("says so on stderr when a table is empty, and prints [] for json", async () => {
    session.peer.leases.clear();
    expect(await berth("lease", "list")).toMatchObject({ code: 0, stdout: "", stderr: "No leases found.\n" });
    expect((await berth("lease", "list", "-o", "json")).stdout).toBe("[]\n");
  });

  it("watches: the current leases as events, one JSON object per line", async () => {
    const run = await berth("lease", "watch", "-o", "json");
    const events = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { type: string; lease: { name: string } });
    expect(events.map((e) => [e.type, e.lease.name]).sort()).toEqual([["Added", "batch"], ["Added", "web"]]);
    const table = await berth("lease", "watch", "web");
    expect(table.stdout.split("\n")[0]).toMatch(/^EVENT\s+NAME\s+PHASE/);
    expect(table.stdout.split("\n")[1]).toMatch(/^Added\s+web\s+Ready/);
  });

  it("explains a lease's decisions with every candidate's verdict", async () => {
    const run = await berth("lease", "explain", "web");
    expect(run.stdout).toContain("placement  policy=fgd  placed on s-1");
    expect(run.stdout).toMatch(/s-2\s+NotNow\s+score=0\s+GpuMemory:InsufficientGpuMemory \(need 4, free 1\)/);
    const json = JSON.parse((await berth("lease", "explain", "web", "-o", "json")).stdout) as { decisions: { kind: string; verdicts: unknown[] }[] };
    expect(json.decisions[0]).toMatchObject({ kind: "placement", verdicts: [{ candidate: "s-1", code: "Fits" }, { candidate: "s-2", code: "NotNow" }] });
  });

  it("explains a scaling decision with its replicas before and after and the autoscaler's reading", async () => {
    const run = await berth("lease", "explain", "web");
    expect(run.stdout).toContain("scaling  policy=hpa  Scaled (s-1)\n    replicas 1 -> 3  rule=ScaleUp usageRatio=2.5 recommended=3 desired=3\n");
  });
});

describe("lease create --wait", () => {
  it("shows each phase with a timestamp on stderr and exits 0 when Ready", async () => {
    const run = await berth("lease", "create", "web", "-m", "simple", "--gpu-memory", "1Gi", "--wait");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("lease/web Ready on s-1 (127.0.0.1:8000)\n");
    const phases = run.stderr.trimEnd().split("\n").map((l) => l.split(/\s{2,}/));
    expect(phases.map((p) => p[2])).toEqual(["Pending", "Placing", "Loading", "Ready"]);
    for (const p of phases) expect(p[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(run.stderr).not.toContain("\r");
    expect((lastRequest("LeaseService.Create") as { wait: boolean; waitTimeout: unknown }).waitTimeout).toEqual({ seconds: 600, nanos: 0 });
  });

  it("prints the final lease as JSON with -o json, progress staying on stderr", async () => {
    const run = await berth("lease", "create", "web", "-m", "simple", "--gpu-memory", "1Gi", "--wait", "-o", "json");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: "web", phase: "Ready" });
  });

  it("exits 1 with the reason when the lease Fails", async () => {
    const run = await berth("lease", "create", "bad", "-m", "broken", "--gpu-memory", "1Gi", "--wait");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: lease bad failed: ModelLoadFailed: broken: config.pbtxt is missing");
    expect(run.stderr).toMatch(/Failed\s+failed: broken/);
  });

  it("exits 1 with the reason when the lease ends Released before Ready (final, not a timeout)", async () => {
    const run = await berth("lease", "create", "short", "-m", "expires", "--gpu-memory", "1Gi", "--wait");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: lease short was released before it was Ready: Expired");
    expect(run.stderr).not.toContain("still");
  });

  it("exits 10 when berthd's wait runs out before Ready", async () => {
    const run = await berth("lease", "create", "big", "-m", "slow", "--gpu-memory", "1Gi", "--wait", "--wait-timeout", "50ms");
    expect(run.code).toBe(10);
    expect(run.stderr).toContain("lease big is still Loading after waiting 50ms");
  });

  it("exits 10 when berthd never finishes the stream; on a terminal a spinner runs meanwhile", async () => {
    const run = await runCli(["lease", "create", "hung", "-m", "stuck", "--gpu-memory", "1Gi", "--wait", "--wait-timeout", "50ms"], { BERTH_ADDRESS: session.peer.address }, true);
    expect(run.code).toBe(10);
    expect(run.stderr).toContain("lease hung is still Loading");
    expect(run.stderr).toMatch(/\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Loading {2}\d+s/);
    expect(run.stderr).toMatch(/hung {2}Loading {3}loading on s-1\n/);
  });
});

describe("exit codes from gRPC status codes", () => {
  const cases: readonly [grpc.status, number][] = [
    [grpc.status.INVALID_ARGUMENT, 3],
    [grpc.status.NOT_FOUND, 4],
    [grpc.status.ALREADY_EXISTS, 5],
    [grpc.status.FAILED_PRECONDITION, 6],
    [grpc.status.RESOURCE_EXHAUSTED, 7],
    [grpc.status.UNAUTHENTICATED, 8],
    [grpc.status.PERMISSION_DENIED, 8],
    [grpc.status.UNAVAILABLE, 9],
    [grpc.status.DEADLINE_EXCEEDED, 10],
    [grpc.status.INTERNAL, 1],
    [grpc.status.UNKNOWN, 1],
  ];
  it.each(cases)("status %i -> exit %i, with berthd's message", async (code, exit) => {
    session.peer.failNext("LeaseService.Get", { code, details: `the server says ${code}` });
    const run = await berth("lease", "status", "web");
    expect(run.code).toBe(exit);
    expect(run.stderr).toContain(`the server says ${code}`);
  });

  it("prints every field path of a server-side INVALID_ARGUMENT", async () => {
    session.peer.failNext("LeaseService.Create", invalidArgumentError("the lease spec has 2 problems", [
      { field: "image", description: "\"evil:latest\" is not on the allowlist" },
      { field: "models[0]", description: "simple is not in repository demo" },
    ]));
    const run = await berth("lease", "create", "web", "-m", "simple", "--gpu-memory", "1Gi");
    expect(run.code).toBe(3);
    expect(run.stderr).toBe([
      "error: invalid argument: the lease spec has 2 problems",
      "  image: \"evil:latest\" is not on the allowlist",
      "  models[0]: simple is not in repository demo",
      "",
    ].join("\n"));
  });

  it("maps a stream's failure too (create --wait against a full cluster)", async () => {
    session.peer.failNext("LeaseService.Create", { code: grpc.status.RESOURCE_EXHAUSTED, details: "no server has 80Gi of GPU memory free" });
    const run = await berth("lease", "create", "web", "-m", "simple", "--gpu-memory", "80Gi", "--wait");
    expect(run.code).toBe(7);
    expect(run.stderr).toContain("resource exhausted: no server has 80Gi of GPU memory free");
  });

  it("exits 5 when the lease exists, 4 when it does not", async () => {
    await berth("lease", "create", "web", "-m", "simple", "--gpu-memory", "1Gi");
    expect((await berth("lease", "create", "web", "-m", "simple", "--gpu-memory", "1Gi")).code).toBe(5);
    expect((await berth("lease", "release", "nope")).code).toBe(4);
  });

  it("sends the token from --token or BERTH_TOKEN as a bearer token", async () => {
    await runCli(["lease", "list"], { BERTH_ADDRESS: session.peer.address, BERTH_TOKEN: "from-env" });
    expect(session.peer.calls.at(-1)?.authorization).toEqual(["Bearer from-env"]);
    await runCli(["lease", "list", "--token", "from-flag"], { BERTH_ADDRESS: session.peer.address, BERTH_TOKEN: "from-env" });
    expect(session.peer.calls.at(-1)?.authorization).toEqual(["Bearer from-flag"]);
  });
});
