import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Either, Schema } from "effect";
import { dnsLabelProblem, labelKeyProblem, labelValueProblem, readLabels } from "../../src/spec/name.js";
import { Issues, problemsOf } from "../../src/spec/issues.js";

describe("DNS-1123 labels", () => {
  it.each(["a", "my-lease", "a1", "0", "x".repeat(63), "resnet-50-v2"])("accepts %s", (name) => {
    expect(dnsLabelProblem(name)).toBeUndefined();
  });

  it.each([
    ["", "a name cannot be empty"],
    ["My-Lease", '"My-Lease" is not a valid name: it has uppercase letters (use lowercase)'],
    ["my_lease", `"my_lease" is not a valid name: it has "_" (only lowercase letters, digits and '-' are allowed)`],
    ["-lease", `"-lease" is not a valid name: it starts with '-' (start with a letter or digit)`],
    ["lease-", `"lease-" is not a valid name: it ends with '-' (end with a letter or digit)`],
    ["a.b c", `"a.b c" is not a valid name: it has ".", " " (only lowercase letters, digits and '-' are allowed)`],
    ["x".repeat(64), `"${"x".repeat(56)}... is not a valid name: it is 64 characters long, at most 63 are allowed`],
    ["-Bad_", `"-Bad_" is not a valid name: it has uppercase letters (use lowercase); it has "_" (only lowercase letters, digits and '-' are allowed); it starts with '-' (start with a letter or digit)`],
  ])("rejects %j, naming every broken rule", (name, message) => {
    expect(dnsLabelProblem(name)).toBe(message);
  });

  it("agrees with the DNS-1123 label regular expression on any string", () => {
    const rfc = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[a-z0-9-]{1,70}$/)), (s) => {
      expect(dnsLabelProblem(s) === undefined).toBe(rfc.test(s) && s.length <= 63);
    }));
  });
});

describe("Kubernetes labels", () => {
  it.each(["team", "app.kubernetes.io/name", "example.com/Tier_1", "a"])("accepts key %s", (key) => {
    expect(labelKeyProblem(key)).toBeUndefined();
  });

  it.each([
    ["bad key!", `label key "bad key!" is not valid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, optionally after a prefix like example.com/`],
    ["/x", `label key "/x" has an empty prefix before '/'`],
    ["Example.com/x", `label key "Example.com/x" has a bad prefix: the part before '/' must be a lowercase DNS name like example.com`],
    ["example.com/", `label key "example.com/" has an empty name`],
    ["k".repeat(64), `label key "${"k".repeat(56)}... is too long: the name part may have at most 63 characters`],
  ])("rejects key %j", (key, message) => {
    expect(labelKeyProblem(key)).toBe(message);
  });

  it("accepts empty values and rejects bad ones", () => {
    expect(labelValueProblem("")).toBeUndefined();
    expect(labelValueProblem("v1.2_beta")).toBeUndefined();
    expect(labelValueProblem("-x")).toBe(`label value "-x" is not valid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`);
    expect(labelValueProblem("v".repeat(64))).toMatch(/is too long: at most 63 characters$/);
  });

  it("reports every bad key and value of a label map, each at its own path", () => {
    const issues = new Issues();
    expect(readLabels({ ok: "yes", "bad key!": "v", tier: "bad value!", count: 5 }, ["labels"], issues)).toBeUndefined();
    const result = issues.result(Schema.Unknown.ast, null, () => 0);
    expect(Either.isLeft(result) ? problemsOf(result.left).map((p) => p.path) : []).toEqual(['labels["bad key!"]', "labels.tier", "labels.count"]);
  });
});
