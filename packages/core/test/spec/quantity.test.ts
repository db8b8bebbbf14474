import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Either, Schema } from "effect";
import {
  BytesFromQuantity, formatBytes, formatMilliCpu, MilliCpuFromQuantity, parseQuantity, quantityToBytes, quantityToMilli,
} from "../../src/spec/quantity.js";
import { problemsOf } from "../../src/spec/issues.js";
import { ParseResult } from "effect";

const bytes = (text: string) => Either.getOrThrow(quantityToBytes(text));
const milli = (text: string) => Either.getOrThrow(quantityToMilli(text));
const why = (text: string) => Either.getLeft(quantityToBytes(text)).pipe((o) => (o._tag === "Some" ? o.value : "accepted"));

describe("quantities as Kubernetes reads them", () => {
  it.each([
    ["0", 0], ["1", 1], ["128974848", 128974848], ["1Ki", 1024], ["4Gi", 4 * 2 ** 30], ["512Mi", 512 * 2 ** 20],
    ["1Ti", 2 ** 40], ["1Pi", 2 ** 50], ["1.5Gi", 1610612736], ["0.5Ki", 512], [".5Ki", 512], ["1.Ki", 1024],
    ["1k", 1000], ["129M", 129e6], ["1G", 1e9], ["2T", 2e12], ["1P", 1e15], ["1e3", 1000], ["1E3", 1000], ["123e-1", 13],
    ["1.5e3", 1500], ["+2Mi", 2 * 2 ** 20], ["100m", 1], ["1500m", 2], ["1n", 1], ["1u", 1],
  ])("%s is %d bytes (rounded up, as Quantity.Value())", (text, expected) => {
    expect(bytes(text)).toBe(expected);
  });

  it.each([
    ["500m", 500], ["2", 2000], ["0.5", 500], ["0.1", 100], ["1", 1000], ["1.0001", 1001], ["2k", 2_000_000], ["100u", 1], ["1e-3", 1],
  ])("cpu %s is %d milli", (text, expected) => {
    expect(milli(text)).toBe(expected);
  });

  it.each([
    ["4Gb", '"4Gb" is not a quantity: write G for powers of 1000 or Gi for powers of 1024 (e.g. 4G or 4Gi)'],
    ["4GB", '"4GB" is not a quantity: write G for powers of 1000 or Gi for powers of 1024 (e.g. 4G or 4Gi)'],
    ["4gi", '"4gi" is not a quantity: the binary suffix is written Gi (e.g. 4Gi)'],
    ["4GiB", '"4GiB" is not a quantity: the binary suffix is written Gi (e.g. 4Gi)'],
    ["1K", '"1K" is not a quantity: write k for powers of 1000 or Ki for powers of 1024 (e.g. 4k or 4Ki)'],
    ["", "an empty string is not a quantity: use a number with a suffix like 512Mi or 4Gi (binary: Ki Mi Gi Ti Pi Ei; decimal: k M G T P E; thousandths: m)"],
    [" 4Gi", '" 4Gi" has spaces around it: write "4Gi"'],
    ["4 Gi", '"4 Gi" is not a quantity: write the number and suffix without a space'],
    ["abc", '"abc" is not a quantity: use a number with a suffix like 512Mi or 4Gi (binary: Ki Mi Gi Ti Pi Ei; decimal: k M G T P E; thousandths: m)'],
    ["Gi", '"Gi" is not a quantity: use a number with a suffix like 512Mi or 4Gi (binary: Ki Mi Gi Ti Pi Ei; decimal: k M G T P E; thousandths: m)'],
    ["1e", '"1e" is not a quantity: write E for powers of 1000 or Ei for powers of 1024 (e.g. 4E or 4Ei)'],
    ["1E", '"1E" is too large for a size'],
    ["-1Gi", '"-1Gi" is negative: a size must be 0 or more'],
    ["1e999", '"1e999" is out of range: the exponent must be between -60 and 60'],
    ["9Ei", '"9Ei" is too large for a size'],
  ])("rejects %j: %s", (text, message) => {
    expect(why(text)).toBe(message);
  });

  it("keeps the sign and exact digits of a parsed quantity", () => {
    expect(Either.getOrThrow(parseQuantity("-1.25Mi"))).toEqual({ negative: true, digits: 125n, fractionDigits: 2, pow10: 0, pow2: 20 });
  });

  it.each([
    [0, "0"], [1, "1"], [1000, "1k"], [1024, "1Ki"], [1500, "1500"], [4 * 2 ** 30, "4Gi"], [1536 * 2 ** 20, "1.5Gi"],
    [500e6, "500M"], [2 ** 50, "1Pi"], [123456789, "123456789"],
  ])("formats %d bytes as %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it("formats milli-CPU as Kubernetes writes it", () => {
    expect([formatMilliCpu(500), formatMilliCpu(2000), formatMilliCpu(0), formatMilliCpu(1500)]).toEqual(["500m", "2", "0", "1500m"]);
  });

  it("format then parse gives every byte count back", () => {
    fc.assert(fc.property(fc.oneof(fc.maxSafeNat(), fc.nat({ max: 64 }).map((k) => k * 2 ** 30), fc.nat({ max: 10_000 }).map((k) => k * 1e6)), (n) => {
      expect(bytes(formatBytes(n))).toBe(n);
    }));
  });

  it("a number with a binary suffix is that many powers of 1024", () => {
    fc.assert(fc.property(fc.nat({ max: 4096 }), fc.constantFrom(["Ki", 10], ["Mi", 20], ["Gi", 30], ["Ti", 40]), (k, [suffix, pow]) => {
      expect(bytes(`${k}${suffix}`)).toBe(k * 2 ** (pow as number));
    }));
  });

  it("milli-CPU format then parse round-trips", () => {
    fc.assert(fc.property(fc.nat({ max: 10_000_000 }), (m) => {
      expect(milli(formatMilliCpu(m))).toBe(m);
    }));
  });
});

describe("BytesFromQuantity and MilliCpuFromQuantity schemas", () => {
  const decodeBytes = ParseResult.decodeUnknownEither(BytesFromQuantity);
  const decodeCpu = ParseResult.decodeUnknownEither(MilliCpuFromQuantity);
  const message = (result: Either.Either<unknown, ParseResult.ParseIssue>) =>
    Either.isLeft(result) ? problemsOf(result.left).map((p) => p.message) : [];

  it("decodes strings and numbers of bytes, and encodes the short form", () => {
    expect(decodeBytes("4Gi")).toEqual(Either.right(4 * 2 ** 30));
    expect(decodeBytes(1024)).toEqual(Either.right(1024));
    expect(Schema.encodeSync(BytesFromQuantity)(4 * 2 ** 30)).toBe("4Gi");
  });

  it("says why a number or a wrong type is not a size", () => {
    expect(message(decodeBytes(1.5))).toEqual(["1.5 is not a size: a number means bytes and must be a whole number, 0 or more (or write a quantity like 4Gi)"]);
    expect(message(decodeBytes(-1))).toEqual(["-1 is not a size: a number means bytes and must be a whole number, 0 or more (or write a quantity like 4Gi)"]);
    expect(message(decodeBytes(true))).toEqual(["expected a size like 4Gi or a number of bytes, not true"]);
    expect(message(decodeBytes("4Gb"))).toEqual(['"4Gb" is not a quantity: write G for powers of 1000 or Gi for powers of 1024 (e.g. 4G or 4Gi)']);
  });

  it("reads a CPU number as cores", () => {
    expect(decodeCpu(2)).toEqual(Either.right(2000));
    expect(decodeCpu(0.5)).toEqual(Either.right(500));
    expect(decodeCpu("250m")).toEqual(Either.right(250));
    expect(Schema.encodeSync(MilliCpuFromQuantity)(250)).toBe("250m");
    expect(message(decodeCpu(-1))).toEqual(["-1 is not a CPU amount: write cores, 0 or more (2, 0.5), or thousandths of a core (500m)"]);
    expect(message(decodeCpu(null))).toEqual(["expected a CPU amount like 500m or 2, not null"]);
  });
});
