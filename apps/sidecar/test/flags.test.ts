import { describe, expect, it } from "vitest";
import { FlagError, parseFlags } from "../src/flags.js";

const base = ["--server-http", "127.0.0.1:8000", "--server-id", "s1", "--cache", "/var/cache/berth", "--repository", "demo=/srv/models"];

describe("sidecar flags", () => {
  it("reads every flag, with defaults for the rest and berthd from the environment", () => {
    const o = parseFlags([...base, "--repository=hub=https://models.example/r"], { BERTH_SIDECAR_BERTHD: "berthd:50051" });
    expect(o).toMatchObject({
      berthd: "berthd:50051",
      serverId: "s1",
      replicaId: "s1",
      cache: "/var/cache/berth",
      serverRepository: "/var/cache/berth/.server",
      repositories: [{ name: "demo", location: "/srv/models" }, { name: "hub", location: "https://models.example/r" }],
      pollIntervalMs: 2000,
    });
  });

  it("says what is wrong", () => {
    expect(() => parseFlags(base)).toThrow(new FlagError("--berthd is required"));
    expect(() => parseFlags([...base, "--berthd", "x:1", "--repository", "demo=/other"])).toThrow(/repository 'demo' is given twice/);
    expect(() => parseFlags([...base, "--berthd", "x:1", "--poll-interval-ms", "0"])).toThrow(/positive integer/);
    expect(() => parseFlags([...base, "--berthd", "x:1", "--bogus", "1"])).toThrow(/unknown flag --bogus/);
  });
});
