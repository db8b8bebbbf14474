import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseModelConfig } from "../src/config-pbtxt.js";
import { MLP_HIDDEN, MLP_INPUTS, MLP_OUTPUTS, mlpWeights } from "../src/demo/demo-models.js";
import { writeDemoRepository } from "../src/demo/demo-repository.js";
import { listLocalModels, readLocalModel, RepositoryError, selectVersions } from "../src/local-directory.js";

let dir: string;
const sessions = new Map<string, ort.InferenceSession>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-demo-"));
  await writeDemoRepository(dir);
  for (const name of ["simple", "mlp_fp32", "int64_affine", "bool_not", "bytes_identity"]) {
    sessions.set(name, await ort.InferenceSession.create(join(dir, name, "1", "model.onnx")));
  }
});

afterAll(async () => {
  for (const s of sessions.values()) await s.release();
  await rm(dir, { recursive: true, force: true });
});

/** The reference MLP in plain arithmetic, from the same weights. */
function mlpReference(x: readonly number[]): number[] {
  const { w1, b1, w2, b2 } = mlpWeights();
  const h = Array.from({ length: MLP_HIDDEN }, (_, j) => {
    let s = b1[j];
    for (let i = 0; i < MLP_INPUTS; i++) s += x[i] * w1[i * MLP_HIDDEN + j];
    return Math.max(0, s);
  });
  return Array.from({ length: MLP_OUTPUTS }, (_, k) => {
    let s = b2[k];
    for (let j = 0; j < MLP_HIDDEN; j++) s += h[j] * w2[j * MLP_OUTPUTS + k];
    return s;
  });
}

describe("the demo repository", () => {
  it("is laid out as Triton expects, with configs that parse and match the ONNX graphs", async () => {
    expect(await listLocalModels(dir)).toEqual(["bool_not", "broken", "bytes_identity", "int64_affine", "mlp_fp32", "simple"]);
    for (const [name, session] of sessions) {
      const model = await readLocalModel(dir, name);
      expect(model.versions.map((v) => v.version)).toEqual([1]);
      expect(model.versions[0].sizeBytes).toBeGreaterThan(0);
      expect(session.inputNames).toEqual(model.config.input.map((t) => t.name));
      expect(session.outputNames).toEqual(model.config.output.map((t) => t.name));
    }
  });

  it("`simple` has Triton's quickstart interface and adds and subtracts exactly", async () => {
    const config = parseModelConfig(await readFile(join(dir, "simple", "config.pbtxt"), "utf8"), "simple");
    expect(config.maxBatchSize).toBe(8);
    expect(config.input.map((t) => [t.name, t.dataType, t.dims])).toEqual([["INPUT0", "INT32", [16]], ["INPUT1", "INT32", [16]]]);
    expect(config.output.map((t) => [t.name, t.dataType, t.dims])).toEqual([["OUTPUT0", "INT32", [16]], ["OUTPUT1", "INT32", [16]]]);
    const int32 = fc.integer({ min: -(2 ** 30), max: 2 ** 30 });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }).chain((b) => fc.tuple(fc.constant(b), fc.array(int32, { minLength: 16 * b, maxLength: 16 * b }), fc.array(int32, { minLength: 16 * b, maxLength: 16 * b }))), async ([batch, a, b]) => {
        const out = await sessions.get("simple")!.run({
          INPUT0: new ort.Tensor("int32", Int32Array.from(a), [batch, 16]),
          INPUT1: new ort.Tensor("int32", Int32Array.from(b), [batch, 16]),
        });
        expect(Array.from(out.OUTPUT0.data as Int32Array)).toEqual(a.map((x, i) => x + b[i]));
        expect(Array.from(out.OUTPUT1.data as Int32Array)).toEqual(a.map((x, i) => x - b[i]));
        expect(out.OUTPUT0.dims).toEqual([batch, 16]);
      }),
      { numRuns: 30 },
    );
  });

  it("`mlp_fp32` computes relu(x·W1+b1)·W2+b2 with its fixed weights", async () => {
    const x = [0.5, -1, 2, 0.25, 1, 1, 1, 1];
    const out = await sessions.get("mlp_fp32")!.run({ INPUT: new ort.Tensor("float32", Float32Array.from(x), [2, MLP_INPUTS]) });
    const got = Array.from(out.OUTPUT.data as Float32Array);
    const want = [...mlpReference(x.slice(0, 4)), ...mlpReference(x.slice(4))];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(want.some((v) => v !== 0)).toBe(true);
  });

  it("`int64_affine`, `bool_not` and `bytes_identity` compute their functions", async () => {
    const big = 2n ** 40n + 7n;
    const y = await sessions.get("int64_affine")!.run({ X: new ort.Tensor("int64", BigInt64Array.of(-5n, 0n, big), [3]) });
    expect(Array.from(y.Y.data as BigInt64Array)).toEqual([-14n, 1n, 3n * big + 1n]);
    const n = await sessions.get("bool_not")!.run({ X: new ort.Tensor("bool", Uint8Array.of(1, 0, 0, 1), [1, 4]) });
    expect(Array.from(n.Y.data as Uint8Array).map(Boolean)).toEqual([false, true, true, false]);
    const s = await sessions.get("bytes_identity")!.run({ TEXT: new ort.Tensor("string", ["héllo", ""], [2]) });
    expect(s.TEXT_OUT.data).toEqual(["héllo", ""]);
  });

  it("`broken` fails to load inside ONNX Runtime", async () => {
    const model = await readLocalModel(dir, "broken");
    await expect(ort.InferenceSession.create(model.versions[0].modelFile)).rejects.toThrow(/failed/i);
  });
});

describe("local repository reading", () => {
  it("selects versions by policy, newest first", () => {
    expect(selectVersions({ kind: "latest", numVersions: 2 }, [1, 3, 2])).toEqual([3, 2]);
    expect(selectVersions({ kind: "all" }, [2, 1])).toEqual([2, 1]);
    expect(selectVersions({ kind: "specific", versions: [1, 5] }, [1, 2, 3])).toEqual([1]);
  });

  it("reports missing models and invalid configs as RepositoryError with a reason", async () => {
    await expect(readLocalModel(dir, "absent")).rejects.toMatchObject({ _tag: "RepositoryError", reason: "ModelNotFound" });
    await expect(readLocalModel(dir, "../etc")).rejects.toBeInstanceOf(RepositoryError);
    const scratch = await mkdtemp(join(tmpdir(), "berth-repo-"));
    try {
      await writeDemoRepository(scratch, { models: ["simple"] });
      await writeFile(join(scratch, "simple", "config.pbtxt"), "name: 'simple' platform: ");
      await expect(readLocalModel(scratch, "simple")).rejects.toMatchObject({ reason: "ConfigInvalid" });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
