import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/config/errors.js";
import { parseFlags } from "../src/config/flags.js";
import { loadConfig, type LoadOptions } from "../src/config/load.js";
import { tempStateDir } from "./harness.js";

const load = (options: LoadOptions) => Effect.runPromise(Effect.either(loadConfig(options)));

const problems = async (options: LoadOptions) => {
  const result = await load(options);
  if (Either.isRight(result)) throw new Error("the configuration was accepted");
  expect(result.left).toBeInstanceOf(ConfigError);
  return result.left.problems;
};

describe("berthd configuration", () => {
  it("runs with no file: defaults documented in the README", async () => {
    const result = await load({ cwd: "/srv/berth", env: {} });
    const config = Either.getOrThrow(result);
    expect(config.listen).toBe("127.0.0.1:50051");
    expect(config.http).toBe("127.0.0.1:9400");
    expect(config.stateDir).toBe("/srv/berth/.berth");
    expect(config.store).toMatchObject({ kind: "sqlite", path: "/srv/berth/.berth/berth.db" });
    expect(config.backend.kind).toBe("process");
    expect(config.repositories).toEqual([{ name: "demo", kind: "dir", dir: "/srv/berth/.berth/repositories/demo" }]);
    expect(config.defaultRepository).toBe("demo");
    expect(config.demoRepositoryDir).toBe("/srv/berth/.berth/repositories/demo");
    expect(config.initialAllowlist).toEqual(["berth-model-server"]);
    expect(config.auth.enabled).toBe(false);
    expect(config.sidecarListen).toBeUndefined();
    expect(config.decide.placementPolicy).toBe("berth");
    expect(config.decide.defaultImage).toBe("berth-model-server");
  });

  it("runs the docker and kubernetes backends on the project's image unless told otherwise, and checks their options with key paths", async () => {
    for (const backend of ["docker", "kubernetes"]) {
      const config = Either.getOrThrow(await load({ cwd: "/srv/berth", env: {}, flags: { backend } }));
      expect(config.backend.kind).toBe(backend);
      expect(config.images.default).toBe("localhost/berth:dev");
      expect(config.decide.defaultImage).toBe("localhost/berth:dev");
      expect(config.initialAllowlist).toEqual(["localhost/berth:dev"]);
    }
    const chosen = Either.getOrThrow(await load({ cwd: "/srv", env: {}, inline: { backend: { kind: "docker" }, images: { default: "nvcr.io/nvidia/tritonserver:24.05-py3" } } }));
    expect(chosen.images.default).toBe("nvcr.io/nvidia/tritonserver:24.05-py3");
    const found = await problems({ cwd: "/srv", env: {}, inline: { backend: { kind: "docker", docker: { pollIntervalMs: -1, colour: "red" }, kubernetes: { network: "bridge" } } } });
    expect(found.map((p) => p.path)).toEqual(expect.arrayContaining(["backend.docker", "backend.kubernetes"]));
    expect(found.find((p) => p.path === "backend.docker" && p.message.startsWith("pollIntervalMs"))).toBeDefined();
    expect(found.find((p) => p.path === "backend.docker" && p.message.includes("colour"))).toBeDefined();
    expect(found.find((p) => p.path === "backend.kubernetes" && p.message.startsWith("network"))).toBeDefined();
    expect(await problems({ cwd: "/srv", env: {}, flags: { backend: "nomad" } })).toEqual(expect.arrayContaining([expect.objectContaining({ path: "backend.kind" })]));
  });

  it("passes the autoscaler's sync period and HPA stabilization windows to decide (Kubernetes' windows when left out)", async () => {
    const dir = tempStateDir();
    writeFileSync(join(dir, "berthd.yaml"), "autoscaler: { syncPeriod: 1s, scaleDownStabilization: 3s, scaleUpStabilization: 500ms }\n");
    const config = Either.getOrThrow(await load({ cwd: dir, env: {}, flags: { config: "berthd.yaml" } }));
    expect(config.decide.autoscaler).toEqual({ syncPeriod: 1_000, scaleDownStabilization: 3_000, scaleUpStabilization: 500 });
    const plain = Either.getOrThrow(await load({ cwd: "/srv/berth", env: {} }));
    expect(plain.decide.autoscaler).toEqual({ syncPeriod: 15_000 });
    writeFileSync(join(dir, "bad.yaml"), "autoscaler: { scaleDownStabilisation: 3s }\n");
    expect((await problems({ cwd: dir, env: {}, flags: { config: "bad.yaml" } })).map((p) => p.path).join(" ")).toContain("scaleDownStabilisation");
  });

  it("reads YAML; environment overrides the file; flags override both", async () => {
    const dir = tempStateDir();
    const file = join(dir, "berthd.yaml");
    writeFileSync(
      file,
      [
        "listen: 0.0.0.0:6000",
        "http: 127.0.0.1:6001",
        "backend: { kind: sim, sim: { startup: 1s } }",
        "repositories:",
        "  models: { dir: ./models }",
        "  hub: { url: https://models.example/repo, authHeaderEnv: HUB_AUTH }",
        "images: { default: tritonserver:24.08, allowlist: ['nvcr.io/nvidia/*'] }",
        "auth:",
        "  tokens:",
        "    - { tokenEnv: TEAM_A_TOKEN, tenant: team-a }",
        "  tenants: { team-a: { gpuMemoryQuota: 40Gi } }",
        "placement: { policy: fgd }",
      ].join("\n"),
    );
    const env = { HUB_AUTH: "Authorization: Bearer x", TEAM_A_TOKEN: "secret", BERTH_HTTP: "127.0.0.1:7001" };
    const config = Either.getOrThrow(await load({ cwd: dir, env, flags: { config: "berthd.yaml", listen: "127.0.0.1:7000" } }));
    expect(config.listen).toBe("127.0.0.1:7000");
    expect(config.http).toBe("127.0.0.1:7001");
    expect(config.backend).toMatchObject({ kind: "sim", sim: { startup: 1000, load: 100 } });
    expect(config.repositories).toEqual([
      { name: "models", kind: "dir", dir: join(dir, "models") },
      { name: "hub", kind: "http", url: "https://models.example/repo", authHeader: "Authorization: Bearer x" },
    ]);
    expect(config.defaultRepository).toBe("models");
    expect(config.demoRepositoryDir).toBeUndefined();
    expect(config.initialAllowlist).toEqual(["tritonserver:24.08", "nvcr.io/nvidia/*"]);
    expect(config.auth).toMatchObject({ enabled: true, tokens: [{ token: "secret", tenant: "team-a", admin: false }] });
    expect(config.auth.tenants["team-a"]?.gpuMemoryQuota).toBe(40 * 1024 ** 3);
    expect(config.decide.placementPolicy).toBe("fgd");
    // Auth is on: sidecars (no token yet) get a loopback listener of their own.
    expect(config.sidecarListen).toBe("127.0.0.1:0");
  });

  it("reports unknown keys and bad values with their key paths, all at once", async () => {
    const found = await problems({
      env: {},
      inline: {
        listen: "localhost",
        stroe: { kind: "sqlite" },
        store: { kind: "mysql" },
        nodes: [{ name: "n1", gpus: [{ memory: "lots" }] }],
        auth: { tokens: [{ tenant: "Team A" }] },
        placement: { policy: "nope" },
      },
    });
    const paths = found.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(["listen", "stroe", "store.kind", "nodes[0].gpus[0].memory", "auth.tokens[0].tenant"]));
    expect(found.find((p) => p.path === "stroe")?.message).toContain("unknown key");
  });

  it("checks what the schema cannot: policies, references, secrets", async () => {
    const found = await problems({
      env: {},
      inline: {
        repositories: { models: { dir: "/m" } },
        defaultRepository: "other",
        auth: { tokens: [{ tokenEnv: "MISSING", tenant: "a" }, { tenant: "b" }] },
        placement: { policy: "nope", evictionPolicy: "nope" },
        store: { kind: "postgres" },
      },
    });
    expect(found.map((p) => p.path)).toEqual(
      expect.arrayContaining(["placement.policy", "placement.evictionPolicy", "defaultRepository", "auth.tokens[0].tokenEnv", "auth.tokens[1]", "store.url"]),
    );
  });

  it("reports an unreadable file and YAML syntax errors", async () => {
    const dir = tempStateDir();
    expect((await problems({ cwd: dir, env: {}, flags: { config: "missing.yaml" } }))[0]?.message).toContain("cannot read");
    writeFileSync(join(dir, "bad.yaml"), "listen: [unclosed\n");
    expect(await problems({ cwd: dir, env: {}, flags: { config: "bad.yaml" } })).not.toHaveLength(0);
  });

  it("parses flags; unknown flags and missing values are errors", () => {
    expect(Either.getOrThrow(parseFlags(["--config", "a.yaml", "--listen=127.0.0.1:1", "--backend", "sim"]))).toEqual({ config: "a.yaml", listen: "127.0.0.1:1", backend: "sim" });
    const bad = parseFlags(["--nope", "--state-dir"]);
    expect(Either.isLeft(bad) && bad.left.problems.map((p) => p.path)).toEqual(["--nope", "--state-dir"]);
  });
});
