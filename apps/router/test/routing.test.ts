import { rngFromSeed } from "@berth/core/random/rng";
import { mkdtemp, rm, writeFile, rename } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ActivityCounter } from "../src/activity.js";
import { AutoLeaser } from "../src/auto-lease.js";
import { Dispatcher } from "../src/dispatcher.js";
import { FlagError, parseFlags, DEFAULT_FLAGS } from "../src/flags.js";
import { formatListeningLine, parseListeningLine } from "../src/listening-line.js";
import { ReplicaState } from "../src/replica-state.js";
import { watchRouteFile } from "../src/route-file.js";
import { decodeRouteSet, RouteSetError } from "../src/route-set.js";
import { InMemoryRouteTable } from "../src/route-table.js";

const lease = (name: string, models: string[], ids: string[], phase?: "Ready" | "Expiring" | "Loading") => ({
  name,
  ...(phase ? { phase } : {}),
  models,
  replicas: ids.map((id, i) => ({ id, http: `127.0.0.1:${9000 + i}`, grpc: `127.0.0.1:${9100 + i}` })),
});

describe("route set", () => {
  it("defaults phase to Ready and rejects bad input with every problem by path", () => {
    expect(decodeRouteSet({ leases: [lease("a", ["m"], ["r1"])] }).leases[0].phase).toBe("Ready");
    expect(() => decodeRouteSet({ leases: [{ name: "", models: ["m"], replicas: [{ id: "r", http: "nohost" }] }] })).toThrow(
      /leases\.0\.name[\s\S]*leases\.0\.replicas\.0\.http: expected host:port/,
    );
    expect(() => decodeRouteSet({ leases: [lease("a", ["m"], ["r1"]), lease("a", ["n"], ["r2"])] })).toThrow(/lease 'a' appears twice/);
    expect(() => decodeRouteSet({ autoLease: { m: { mode: "hold", queueCap: 0, timeoutMs: 10 } } })).toThrow(RouteSetError);
    expect(() => decodeRouteSet({ leases: [], extra: 1 })).toThrow(/extra/);
  });

  it("indexes models to the replicas of Ready leases, merging a replica shared by two leases", () => {
    const table = new InMemoryRouteTable(decodeRouteSet({ leases: [lease("a", ["m", "n"], ["r1", "r2"]), lease("b", ["m"], ["r1"]), lease("c", ["x"], ["r3"], "Loading")] }));
    expect(table.routesFor("m")!.http.map((c) => [c.id, c.leases])).toEqual([["r1", ["a", "b"]], ["r2", ["a"]]]);
    expect(table.routesFor("n")!.grpc.map((c) => c.id)).toEqual(["r1", "r2"]);
    expect(table.routesFor("x")).toBeUndefined();
  });
});

describe("dispatcher", () => {
  const setup = (picker: "power-of-two" | "round-robin") => {
    const table = new InMemoryRouteTable(decodeRouteSet({ leases: [lease("a", ["m"], ["r1", "r2", "r3"])] }));
    const replicas = new ReplicaState(1000, () => 0);
    const activity = new ActivityCounter();
    const dispatcher = new Dispatcher(table, replicas, activity, new AutoLeaser(table, undefined, () => {}), picker, rngFromSeed(3));
    return { table, replicas, activity, dispatcher };
  };

  it("round robin cycles the replicas and skips those marked down or tried", () => {
    const { dispatcher, replicas } = setup("round-robin");
    const ids = () => {
      const r = dispatcher.route("m", "http");
      if (r.kind !== "dispatch") throw new Error(r.kind);
      dispatcher.done(r.candidate);
      return r.candidate.id;
    };
    expect([ids(), ids(), ids(), ids()]).toEqual(["r1", "r2", "r3", "r1"]);
    replicas.markDown("r2");
    expect(new Set([ids(), ids(), ids()])).toEqual(new Set(["r1", "r3"]));
    const retry = dispatcher.route("m", "http", new Set(["r1", "r3"]));
    expect(retry).toMatchObject({ kind: "refused", reason: "AllReplicasDown" });
  });

  it("power of two never picks the most loaded of three replicas, and counts activity once per request", () => {
    const { dispatcher, replicas, activity } = setup("power-of-two");
    for (let i = 0; i < 5; i++) replicas.begin("r3");
    replicas.begin("r2");
    const picks = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const r = dispatcher.route("m", "http");
      if (r.kind !== "dispatch") throw new Error(r.kind);
      picks.set(r.candidate.id, (picks.get(r.candidate.id) ?? 0) + 1);
      dispatcher.done(r.candidate);
    }
    expect(picks.get("r3")).toBeUndefined();
    expect(picks.get("r1")!).toBeGreaterThan(picks.get("r2")!);
    dispatcher.route("m", "http", new Set(["r1"]));
    expect(activity.drain(0, () => {})).toEqual([{ lease: "a", requests: 300 }]);
  });
});

describe("route file", () => {
  it("loads YAML, reloads on change, and keeps the last good table on a bad edit", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-routes-"));
    const file = join(dir, "routes.yaml");
    const table = new InMemoryRouteTable();
    const logs: string[] = [];
    await writeFile(file, "leases:\n  - name: a\n    models: [m]\n    replicas: [{id: r1, http: '127.0.0.1:9000'}]\n");
    const watch = await watchRouteFile(file, table, (l) => logs.push(l), 10);
    try {
      expect(table.routesFor("m")!.http.map((c) => c.id)).toEqual(["r1"]);
      const changed = new Promise<void>((r) => table.onChange(r));
      // Replaced, as editors and `mv` do.
      await writeFile(`${file}.tmp`, JSON.stringify({ leases: [{ name: "a", models: ["n"], replicas: [{ id: "r2", http: "127.0.0.1:9001" }] }] }));
      await rename(`${file}.tmp`, file);
      await changed;
      expect(table.routesFor("m")).toBeUndefined();
      expect(table.routesFor("n")!.http.map((c) => c.id)).toEqual(["r2"]);
      await writeFile(file, "leases: [{name: a}]\n");
      await new Promise((r) => setTimeout(r, 300));
      expect(table.routesFor("n")).toBeDefined();
      expect(logs.at(-1)).toMatch(/keeping the previous table[\s\S]*models/);
    } finally {
      watch.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("flags and the listening line", () => {
  it("defaults to Triton's ports on loopback and the power-of-two picker", () => {
    expect(parseFlags([])).toEqual(DEFAULT_FLAGS);
    expect(DEFAULT_FLAGS).toMatchObject({ host: "127.0.0.1", httpPort: 8000, grpcPort: 8001, picker: "power-of-two" });
    expect(parseFlags(["--http-port=0", "--grpc-port", "off", "--routes", "r.yaml", "--picker", "round-robin"])).toMatchObject({ httpPort: 0, grpcPort: null, routes: "r.yaml", picker: "round-robin" });
    expect(() => parseFlags(["--picker", "random"])).toThrow(FlagError);
    expect(() => parseFlags(["--http-port", "70000"])).toThrow(/port number/);
  });

  it("round-trips the ports", () => {
    expect(parseListeningLine(formatListeningLine({ http: 1, grpc: null }, 5))).toEqual({ http: 1, grpc: null, pid: 5 });
    expect(parseListeningLine("loaded")).toBeUndefined();
  });
});
