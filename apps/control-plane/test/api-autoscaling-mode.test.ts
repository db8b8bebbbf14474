import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolationsOf, isServiceError, type BerthClient } from "@berth/api/berth";
import type * as T from "@berth/api/berth";
import { validateLeaseSpec } from "@berth/core";
import { Either } from "effect";
import { leaseSpecInput } from "../src/api/inputs.js";
import { leaseSpecView } from "../src/api/views.js";
import { collect, startBerthd, tempStateDir, type RunningBerthd } from "./harness.js";

// A lease's autoscaling mode over berth.v1: who scales it (the backend's HPA, or berthd), given
// per lease in LeaseSpec.autoscaling.mode; empty leaves it to the backend's default.

const OPTIONS = { defaultRepository: "demo" };
const autoscaling = (mode: string) => ({ metric: "inflight", target: 4, minReplicas: 1, maxReplicas: 3, policy: "berth", mode });
const spec = (name: string, mode: string) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" }, autoscaling: autoscaling(mode) });

describe("LeaseSpec.autoscaling.mode: request -> spec -> view", () => {
  // The message as proto-loader decodes it (defaults filled in).
  const wire = (mode: string): T.LeaseSpec => ({
    ...spec("web", mode),
    models: [{ name: "simple", version: 0, repository: "" }],
    resources: { gpuMemory: "1Gi", gpus: 0, gpuMilli: 0, cpu: "", memory: "", gpuModels: [] },
    pool: "",
    quota: "",
    image: "",
    minDuration: "",
    renewal: null,
    colocation: null,
    labels: {},
  });

  it("carries hpa and builtin into the core's spec and back out unchanged", () => {
    for (const mode of ["hpa", "builtin"] as const) {
      const input = leaseSpecInput(wire(mode), "team-a");
      expect(input.autoscaling?.mode).toBe(mode);
      const checked = validateLeaseSpec(input, OPTIONS);
      if (Either.isLeft(checked)) throw new Error(JSON.stringify(checked.left));
      expect(checked.right.autoscaling?.mode).toBe(mode);
      expect(leaseSpecView(checked.right).autoscaling).toEqual(autoscaling(mode));
    }
  });

  it("an empty mode is no mode (the backend's default), shown as empty", () => {
    const input = leaseSpecInput(wire(""), "team-a");
    expect(input.autoscaling).toBeDefined();
    expect(input.autoscaling && "mode" in input.autoscaling).toBe(false);
    const checked = validateLeaseSpec(input, OPTIONS);
    if (Either.isLeft(checked)) throw new Error(JSON.stringify(checked.left));
    expect(checked.right.autoscaling?.mode).toBeUndefined();
    expect(leaseSpecView(checked.right).autoscaling?.mode).toBe("");
  });

  it("any other mode is an issue at autoscaling.mode", () => {
    const checked = validateLeaseSpec(leaseSpecInput(wire("auto"), "team-a"), OPTIONS);
    expect(Either.isLeft(checked)).toBe(true);
    if (Either.isLeft(checked)) expect(checked.left.problems.map((p) => p.path)).toContain("autoscaling.mode");
  });
});

describe("berthd gRPC API: autoscaling mode", () => {
  let berthd: RunningBerthd;
  let api: BerthClient;
  beforeAll(async () => {
    berthd = await startBerthd({ config: { nodes: [{ name: "n1", gpus: [{ model: "A10", memory: "8Gi" }] }] } });
    api = berthd.client();
  });
  afterAll(async () => {
    await berthd?.stop();
  });

  it("echoes the mode given at create in get and list, and none as empty", async () => {
    for (const [name, mode] of [["scaled-hpa", "hpa"], ["scaled-builtin", "builtin"], ["scaled-default", ""]] as const) {
      const [accepted] = await collect(api.lease.create({ spec: spec(name, mode) }));
      expect(accepted?.lease?.spec?.autoscaling?.mode).toBe(mode);
      expect((await api.lease.get({ name })).spec?.autoscaling).toMatchObject({ metric: "inflight", maxReplicas: 3, mode });
    }
    const listed = await api.lease.list({});
    const modes = Object.fromEntries(listed.leases.map((l) => [l.name, l.spec?.autoscaling?.mode]));
    expect(modes).toMatchObject({ "scaled-hpa": "hpa", "scaled-builtin": "builtin", "scaled-default": "" });
  });

  it("a bad mode is INVALID_ARGUMENT with the field path autoscaling.mode", async () => {
    try {
      await collect(api.lease.create({ spec: spec("scaled-bad", "kubernetes") }));
      expect.unreachable();
    } catch (error) {
      if (!isServiceError(error)) throw error;
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      const violations = fieldViolationsOf(error);
      expect(violations.map((v) => v.field)).toEqual(["autoscaling.mode"]);
      expect(violations[0]?.description).toContain('"kubernetes"');
    }
    await expect(api.lease.get({ name: "scaled-bad" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe("berthd restart: autoscaling mode", () => {
  it("keeps each lease's mode in the store (snapshot and event log alike)", async () => {
    for (const snapshotEvery of [1000, 1]) {
      const stateDir = tempStateDir();
      const config = { store: { snapshotEvery }, nodes: [{ name: "n1", gpus: [{ model: "A10", memory: "8Gi" }] }] };
      const first = await startBerthd({ stateDir, config });
      await collect(first.client().lease.create({ spec: spec("kept-builtin", "builtin") }));
      await collect(first.client().lease.create({ spec: spec("kept-hpa", "hpa") }));
      await first.stop();
      const second = await startBerthd({ stateDir, config });
      try {
        expect((await second.client().lease.get({ name: "kept-builtin" })).spec?.autoscaling?.mode, `snapshotEvery ${snapshotEvery}`).toBe("builtin");
        expect((await second.client().lease.get({ name: "kept-hpa" })).spec?.autoscaling?.mode, `snapshotEvery ${snapshotEvery}`).toBe("hpa");
      } finally {
        await second.stop();
      }
    }
  }, 60_000);
});
