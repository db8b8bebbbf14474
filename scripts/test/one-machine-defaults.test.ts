// `npm start`'s defaults for the container backends: what the one-machine stack needs, never
// overriding what the configuration says.
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { loadConfig } from "@berth/control-plane";
import { oneMachineDefaults } from "../start/one-machine-defaults.js";

const load = (inline: unknown) => Effect.runPromise(loadConfig({ cwd: "/srv", env: {}, inline }));

describe("npm start's one-machine defaults", () => {
  it("kubernetes: host network on 127.0.0.1, any node, builtin autoscaling, no GPU request without a driver; set options win", async () => {
    const config = await load({ backend: { kind: "kubernetes" } });
    expect(oneMachineDefaults(config, false).backend.kubernetes).toEqual({ network: "host", endpointHost: "127.0.0.1", nodeSelection: "any", autoscaling: "builtin", requestGpus: false });
    expect(oneMachineDefaults(config, true).backend.kubernetes).not.toHaveProperty("requestGpus");
    const chosen = await load({ backend: { kind: "kubernetes", kubernetes: { network: "pod", requestGpus: true } } });
    expect(oneMachineDefaults(chosen, false).backend.kubernetes).toMatchObject({ network: "pod", requestGpus: true, nodeSelection: "any" });
  });

  it("docker: containers stop with npm start unless the configuration keeps them; other backends unchanged", async () => {
    expect(oneMachineDefaults(await load({ backend: { kind: "docker" } })).backend.docker).toEqual({ onClose: "stop" });
    expect(oneMachineDefaults(await load({ backend: { kind: "docker", docker: { onClose: "leave" } } })).backend.docker).toEqual({ onClose: "leave" });
    const processConfig = await load({});
    expect(oneMachineDefaults(processConfig)).toBe(processConfig);
  });
});
