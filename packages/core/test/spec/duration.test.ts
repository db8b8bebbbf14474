import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Either, ParseResult, Schema } from "effect";
import { DurationFromString, formatDuration, parseDuration } from "../../src/spec/duration.js";
import { problemsOf } from "../../src/spec/issues.js";

const ms = (text: string) => Either.getOrThrow(parseDuration(text));
const why = (text: string) => Either.match(parseDuration(text), { onLeft: (m) => m, onRight: () => "accepted" });

describe("durations", () => {
  it.each([
    ["0", 0], ["0s", 0], ["500ms", 500], ["30s", 30_000], ["5m", 300_000], ["1h", 3_600_000], ["1h30m", 5_400_000],
    ["2d", 172_800_000], ["1.5h", 5_400_000], ["1m30s500ms", 90_500], ["90m", 5_400_000], ["0.5s", 500], ["1.0005s", 1001],
  ])("%s is %d ms", (text, expected) => {
    expect(ms(text)).toBe(expected);
  });

  it.each([
    ["30", '"30" has no unit: write 30s, 30m or 30h'],
    ["", "an empty string is not a duration: write a number with a unit, like 500ms, 30s, 5m, 1h30m or 2d"],
    ["-5m", '"-5m" is negative: a duration must be 0 or more'],
    ["10us", '"10us" is finer than Berth counts: the smallest unit is ms'],
    ["5M", '"5M" is not a duration: units are lowercase (ms, s, m, h, d)'],
    ["1h30", '"1h30" is not a duration: write a number with a unit, like 500ms, 30s, 5m, 1h30m or 2d'],
    ["soon", '"soon" is not a duration: write a number with a unit, like 500ms, 30s, 5m, 1h30m or 2d'],
    ["5 m", '"5 m" is not a duration: write a number with a unit, like 500ms, 30s, 5m, 1h30m or 2d'],
  ])("rejects %j: %s", (text, message) => {
    expect(why(text)).toBe(message);
  });

  it.each([[0, "0s"], [500, "500ms"], [5_400_000, "1h30m"], [172_800_000, "2d"], [90_500, "1m30s500ms"], [86_400_001, "1d1ms"]])(
    "formats %d ms as %s", (n, text) => {
      expect(formatDuration(n)).toBe(text);
    },
  );

  it("format then parse gives every duration back", () => {
    fc.assert(fc.property(fc.maxSafeNat(), (n) => {
      expect(ms(formatDuration(n))).toBe(n);
    }));
  });

  it("the schema takes numbers as milliseconds and encodes the short form", () => {
    const decode = ParseResult.decodeUnknownEither(DurationFromString);
    expect(decode("30m")).toEqual(Either.right(1_800_000));
    expect(decode(250)).toEqual(Either.right(250));
    expect(Schema.encodeSync(DurationFromString)(1_800_000)).toBe("30m");
    const messages = (u: unknown) => Either.match(decode(u), { onLeft: (i) => problemsOf(i).map((p) => p.message), onRight: () => [] });
    expect(messages(1.5)).toEqual(["1.5 is not a duration: a number means milliseconds and must be a whole number, 0 or more (or write 30s, 5m, 1h)"]);
    expect(messages(false)).toEqual(["expected a duration like 30m or 1h, not false"]);
  });
});
