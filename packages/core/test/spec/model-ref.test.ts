import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Either, ParseResult, Schema } from "effect";
import { formatModelRef, modelRefFromInput, parseModelRef } from "../../src/spec/model-ref.js";
import { problemsOf } from "../../src/spec/issues.js";

const problems = (input: unknown, defaultRepository?: string) =>
  Either.match(ParseResult.decodeUnknownEither(modelRefFromInput({ defaultRepository }))(input), {
    onLeft: problemsOf,
    onRight: () => [],
  });

describe("model references", () => {
  it.each([
    ["simple", { name: "simple", repository: "demo" }],
    ["simple@models", { name: "simple", repository: "models" }],
    ["resnet50:3@models", { name: "resnet50", version: 3, repository: "models" }],
    ["densenet_onnx:1", { name: "densenet_onnx", version: 1, repository: "demo" }],
  ])("reads %s (default repository demo)", (text, ref) => {
    expect(parseModelRef(text, { defaultRepository: "demo" })).toEqual(Either.right(ref));
  });

  it("reads the object form and applies the default repository", () => {
    const decode = ParseResult.decodeUnknownSync(modelRefFromInput({ defaultRepository: "demo" }));
    expect(decode({ name: "simple" })).toEqual({ name: "simple", repository: "demo" });
    expect(decode({ name: "simple", version: 2, repository: "other" })).toEqual({ name: "simple", version: 2, repository: "other" });
  });

  it("needs a repository when no default is configured", () => {
    expect(parseModelRef("simple")).toEqual(Either.left('"simple" names no repository and no default repository is configured: write name@repository (e.g. simple@demo)'));
  });

  it.each([
    ["a:b:c", [["", '"a:b:c" is not a model reference: write name, name:version, name@repository or name:version@repository (e.g. resnet50:3@models)']]],
    ["simple:x@demo", [["", `"simple:x@demo": version "x" is not a whole number from 1; write name, name:version, name@repository or name:version@repository (e.g. resnet50:3@models)`]]],
    ["simple:0@demo", [["", `"simple:0@demo": version "0" is not a whole number from 1; write name, name:version, name@repository or name:version@repository (e.g. resnet50:3@models)`]]],
    ["@demo", [["", '"@demo": a model name cannot be empty']]],
    ["bad/name@demo", [["", `"bad/name@demo": "bad/name" is not a model name: use letters, digits, '_', '-' and '.', starting with a letter or digit (it is a directory in the repository)`]]],
    ["simple@Demo", [["", `repository "Demo" is not a valid name: it has uppercase letters (use lowercase)`]]],
    [{ version: 0, repository: "x", tag: 1 }, [
      ["tag", 'unknown field "tag": a model reference has name, version, repository'],
      ["name", "the model name is missing"],
      ["version", "0 is not a model version: versions are whole numbers from 1 (Triton's version directories)"],
    ]],
    [{ name: "m", repository: "Bad" }, [["repository", `repository "Bad" is not a valid name: it has uppercase letters (use lowercase)`]]],
    [7, [["", "expected a model reference like simple@demo or { name, version, repository }, not 7"]]],
  ])("rejects %j with a plain message", (input, expected) => {
    expect(problems(input, "demo").map((p) => [p.path, p.message])).toEqual(expected);
  });

  it("the string form round-trips", () => {
    const ref = fc.record({
      name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
      version: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
      repository: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/),
    }).map((r) => (r.version === undefined ? { name: r.name, repository: r.repository } : r));
    fc.assert(fc.property(ref, (r) => {
      expect(parseModelRef(formatModelRef(r))).toEqual(Either.right(r));
      expect(Schema.encodeSync(modelRefFromInput())(r)).toBe(formatModelRef(r));
    }));
  });
});
