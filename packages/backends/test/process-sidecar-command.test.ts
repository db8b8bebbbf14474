import { Either } from "effect";
import { describe, expect, it } from "vitest";
import { decodeProcessBackendConfig } from "../src/process/config.js";
import { sidecarCommand } from "../src/process/runtime.js";

// The process backend hands each sidecar its activity interval when configured (berthd sets it
// to the autoscalers' sync period when that is shorter than the sidecar's 10 s default).

const args = { berthd: "127.0.0.1:1", serverHttp: "127.0.0.1:2", serverId: "s", replicaId: "s-0", cache: "/c", serverRepository: "/r", repositories: [] };

const command = (options: Record<string, unknown>) => {
  const config = decodeProcessBackendConfig({ stateDir: "/tmp/x", sidecar: ["berth-sidecar"], ...options });
  if (Either.isLeft(config)) throw new Error(config.left.join("; "));
  return sidecarCommand(config.right, args);
};

describe("sidecarCommand", () => {
  it("passes --activity-interval-ms when sidecarActivityIntervalMs is set, and nothing otherwise", () => {
    const withInterval = command({ sidecarActivityIntervalMs: 500 });
    expect(withInterval.slice(withInterval.indexOf("--activity-interval-ms"))).toEqual(["--activity-interval-ms", "500"]);
    expect(command({})).not.toContain("--activity-interval-ms");
  });

  it("rejects an interval that is not a positive integer", () => {
    expect(Either.isLeft(decodeProcessBackendConfig({ stateDir: "/tmp/x", sidecarActivityIntervalMs: 0 }))).toBe(true);
  });
});
