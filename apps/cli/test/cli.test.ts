import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { parse as parseYaml } from "yaml";
import { COMMANDS } from "../src/commands/index.js";
import { GLOBAL_FLAGS } from "../src/global-flags.js";
import { runCli, tempConfig } from "./harness.js";
import { closedPort, startPeer, type Peer } from "./peer.js";

const BIN = fileURLToPath(new URL("../bin/berth.mjs", import.meta.url));
const verbs = COMMANDS.flatMap((g) => g.verbs.map((v) => [g.name, v.name] as const));

let peer: Peer;
beforeAll(async () => { peer = await startPeer(); });
afterAll(() => peer.close());

describe("help", () => {
  it.each(verbs)("berth %s %s --help shows usage, an example of itself and the exit codes", async (group, verb) => {
    const run = await runCli([group, verb, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage:\n  berth ${group} ${verb}`);
    const examples = run.stdout.split("Examples:\n")[1]?.split("\n\n")[0] ?? "";
    expect(examples).toMatch(new RegExp(`^  (source <\\()?berth ${group} ${verb}\\b`, "m"));
    expect(run.stdout).toContain("Exit codes:");
  });

  it("documents every exit code in berth --help, and groups their verbs", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (let code = 0; code <= 10; code++) expect(run.stdout).toMatch(new RegExp(`^ +${code}  \\S`, "m"));
    for (const group of COMMANDS) expect(run.stdout).toContain(`  ${group.name}`);
    expect((await runCli(["help", "lease", "create"])).stdout).toContain("berth lease create [NAME]");
    expect((await runCli(["pool", "--help"])).stdout).toContain("berth pool create small");
  });
});

describe("usage errors exit 2 with a suggestion", () => {
  it.each([
    [["lease", "create", "web", "-m", "simple", "--gpu-mem", "4Gi"], "unknown flag --gpu-mem for `berth lease create`; did you mean --gpu-memory?"],
    [["lease", "list", "--ouput", "json"], "did you mean --output?"],
    [["leas", "list"], "unknown command \"leas\"; did you mean \"lease\"?"],
    [["lease", "lst"], "did you mean \"lease list\"?"],
    [["lease", "status"], "`berth lease status` needs NAME"],
    [["lease", "list", "-o", "xml"], "--output must be one of table, wide, json, yaml"],
    [["lease", "create", "web", "--gpus", "two"], "--gpus takes a whole number"],
    [["lease", "create", "web", "-m", "simple", "--metric", "queue_time", "--target", "fast"], "--target takes a number or a duration"],
    [["lease", "release", "a", "b"], "unexpected \"b\""],
    [["lease"], "`berth lease` needs a verb"],
  ])("berth %j", async (argv, message) => {
    const run = await runCli(argv, { BERTH_ADDRESS: peer.address });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe("berthd unreachable", () => {
  it("exits 9 naming the address and how to start berthd", async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const run = await runCli(["lease", "list"], { BERTH_ADDRESS: address });
    expect(run.code).toBe(9);
    expect(run.stderr).toContain(`cannot reach berthd at ${address} (BERTH_ADDRESS)`);
    expect(run.stderr).toContain("npm start");
    const viaFlag = await runCli(["server", "list", "--address", address]);
    expect(viaFlag.code).toBe(9);
    expect(viaFlag.stderr).toContain(`${address} (--address)`);
  });
});

describe("targets", () => {
  it("adds, lists, sets and removes targets in BERTH_CONFIG, and calls go to the chosen one", async () => {
    const config = tempConfig();
    const env = { BERTH_CONFIG: config };
    const down = `127.0.0.1:${await closedPort()}`;
    expect((await runCli(["target", "add", "local", "--address", peer.address, "--token", "t0k"], env)).code).toBe(0);
    expect((await runCli(["target", "add", "down", "--address", down], env)).code).toBe(0);
    expect((await runCli(["target", "add", "down", "--address", down], env)).code).toBe(5);
    expect(statSync(config).mode & 0o077).toBe(0);
    expect(parseYaml(readFileSync(config, "utf8"))).toMatchObject({ current: "local", targets: [{ name: "local", token: "t0k" }, { name: "down" }] });

    const list = await runCli(["target", "list", "-o", "json"], env);
    expect(JSON.parse(list.stdout)).toEqual([
      { name: "local", address: peer.address, current: true, tls: null, token: true },
      { name: "down", address: down, current: false, tls: null, token: false },
    ]);
    expect(list.stdout).not.toContain("t0k");

    // The current target, with its token.
    expect((await runCli(["lease", "list"], env)).code).toBe(0);
    expect(peer.calls.at(-1)?.authorization).toEqual(["Bearer t0k"]);
    // --context picks another; --address wins over both.
    expect((await runCli(["lease", "list", "--context", "down"], env)).code).toBe(9);
    expect((await runCli(["lease", "list", "--target", "down", "--address", peer.address], env)).code).toBe(0);
    expect((await runCli(["lease", "list", "--context", "nope"], env)).code).toBe(2);

    expect((await runCli(["target", "set", "down"], env)).code).toBe(0);
    const moved = await runCli(["lease", "list"], env);
    expect(moved.code).toBe(9);
    expect(moved.stderr).toContain(`(target "down")`);
    expect((await runCli(["target", "set", "nope"], env)).code).toBe(4);
    expect((await runCli(["target", "remove", "down"], env)).code).toBe(0);
    expect((await runCli(["target", "list", "--porcelain"], env)).stdout).toBe(`local\t${peer.address}\tcurrent\tplaintext\n`);
  });

  it("keeps keys it does not own when it rewrites the config, and stores TLS paths absolute", async () => {
    const config = tempConfig();
    writeFileSync(config, "listen: 127.0.0.1:50051\nstore: { kind: sqlite }\n");
    expect((await runCli(["target", "add", "secure", "--address", "127.0.0.1:1", "--ca", "ca.pem"], { BERTH_CONFIG: config })).code).toBe(0);
    expect(parseYaml(readFileSync(config, "utf8"))).toEqual({
      listen: "127.0.0.1:50051", store: { kind: "sqlite" }, current: "secure",
      targets: [{ name: "secure", address: "127.0.0.1:1", tls: { ca: resolve("ca.pem") } }],
    });
  });

  it("talks TLS to a target with a CA file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-tls-"));
    await new Promise<void>((done, fail) => execFile("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], (error) => (error ? fail(error) : done())));
    const secure = await startPeer(grpc.ServerCredentials.createSsl(null, [{
      private_key: readFileSync(join(dir, "key.pem")), cert_chain: readFileSync(join(dir, "cert.pem")),
    }], false));
    try {
      const env = { BERTH_CONFIG: join(dir, "config.yaml") };
      await runCli(["target", "add", "tls", "--address", secure.address, "--ca", join(dir, "cert.pem")], env);
      expect(await runCli(["lease", "list", "-o", "json"], env)).toMatchObject({ code: 0, stdout: "[]\n" });
      await runCli(["target", "add", "plain", "--address", secure.address, "--use"], env);
      expect((await runCli(["lease", "list"], env)).code).toBe(9);
    } finally {
      secure.close();
    }
  }, 30_000);

  it("lease create's --target is the autoscaling target; --context still picks the stored target", async () => {
    const config = tempConfig();
    await runCli(["target", "add", "here", "--address", peer.address], { BERTH_CONFIG: config });
    const run = await runCli(
      ["lease", "create", "scaled", "-m", "simple", "--gpu-memory", "1Gi", "--metric", "inflight", "--target", "8", "--max-replicas", "2", "--context", "here"],
      { BERTH_CONFIG: config, BERTH_ADDRESS: "127.0.0.1:1" },
    );
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(peer.leases.get("scaled")?.spec?.autoscaling).toMatchObject({ metric: "inflight", target: 8, maxReplicas: 2 });
  });
});

describe("shell completion", () => {
  it.each(["bash", "zsh", "fish"])("the %s script names every group, verb and verb flag", async (shell) => {
    const run = await runCli(["completion", shell]);
    expect(run.code).toBe(0);
    for (const group of COMMANDS) {
      expect(run.stdout).toContain(group.name);
      for (const verb of group.verbs) {
        expect(run.stdout).toMatch(new RegExp(`\\b${verb.name}\\b`));
        for (const flag of verb.flags) expect(run.stdout).toContain(shell === "fish" ? `-l ${flag.name}` : `--${flag.name}`);
      }
    }
    for (const flag of GLOBAL_FLAGS) expect(run.stdout).toContain(shell === "fish" ? `-l ${flag.name}` : `--${flag.name}`);
  });

  it("the bash script completes verbs and flags when bash runs it", async () => {
    const script = (await runCli(["completion", "bash"])).stdout;
    const complete = (line: string): Promise<string[]> => new Promise((resolve, reject) => {
      const words = line.split(" ");
      const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _berth; printf '%s\\n' "\${COMPREPLY[@]}"`;
      execFile("bash", ["-c", program], (error, stdout) => (error ? reject(error) : resolve(stdout.split("\n").filter(Boolean))));
    });
    expect(await complete("berth le")).toEqual(["lease"]);
    expect((await complete("berth lease ")).sort()).toEqual(["create", "delete", "describe", "explain", "get", "list", "ls", "release", "renew", "rm", "status", "watch"]);
    expect(await complete("berth lease create web --gpu-m")).toEqual(["--gpu-memory", "--gpu-milli", "--gpu-model"]);
    expect(await complete("berth lease list -o j")).toEqual(["json"]);
    expect(await complete("berth --address x:1 pool st")).toEqual(["status"]);
  });
});

describe("the berth executable", () => {
  const exec = (argv: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...argv], { env: { ...process.env, BERTH_CONFIG: tempConfig(), ...env } }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }));
    });

  it("creates with --wait (exit 0 once Ready), lists as JSON and releases, as a separate process", async () => {
    const env = { BERTH_ADDRESS: peer.address };
    const created = await exec(["lease", "create", "e2e", "-m", "simple", "--gpu-memory", "1Gi", "--wait"], env);
    expect(created.stderr).toMatch(/e2e\s+Ready/);
    expect(created.code).toBe(0);
    const list = JSON.parse((await exec(["lease", "list", "-o", "json"], env)).stdout) as { name: string; phase: string }[];
    expect(list.find((l) => l.name === "e2e")).toMatchObject({ name: "e2e", phase: "Ready" });
    expect(await exec(["lease", "release", "e2e"], env)).toMatchObject({ code: 0, stdout: "lease/e2e released\n" });
  }, 30_000);

  it("exits with the mapped code: 4 for a missing lease, 9 when berthd is down", async () => {
    const downAddress = `127.0.0.1:${await closedPort()}`;
    const [missing, down] = await Promise.all([
      exec(["lease", "status", "nope"], { BERTH_ADDRESS: peer.address }),
      exec(["lease", "list"], { BERTH_ADDRESS: downAddress }),
    ]);
    expect(missing.code).toBe(4);
    expect(down.code).toBe(9);
    expect(down.stderr).toContain("npm start");
  }, 30_000);
});
