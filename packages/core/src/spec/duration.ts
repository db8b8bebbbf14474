import { Either, ParseResult, Schema } from "effect";
import type { DurationMs } from "../units.js";
import { show, typeIssue, plain } from "./issues.js";

// Durations as Go and kubectl write them (`30s`, `5m`, `1h30m`, `1.5h`), plus `d` for days.
// Berth counts time in whole milliseconds; a plain number is milliseconds.

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)/y;
const HINT = "write a number with a unit, like 500ms, 30s, 5m, 1h30m or 2d";

const whyNotDuration = (text: string): string => {
  if (text.trim() === "") return `an empty string is not a duration: ${HINT}`;
  if (/^\d+(\.\d*)?$/.test(text)) return `${show(text)} has no unit: write ${text}s, ${text}m or ${text}h`;
  if (text.startsWith("-")) return `${show(text)} is negative: a duration must be 0 or more`;
  if (/(ns|us|µs)/.test(text)) return `${show(text)} is finer than Berth counts: the smallest unit is ms`;
  if (/[A-Z]/.test(text) && !/[A-Z]/.test(text.toLowerCase())) return `${show(text)} is not a duration: units are lowercase (ms, s, m, h, d)`;
  return `${show(text)} is not a duration: ${HINT}`;
};

/** Milliseconds in a duration string (`1h30m` -> 5400000), rounded to the nearest millisecond. */
export const parseDuration = (text: string): Either.Either<DurationMs, string> => {
  if (text === "0") return Either.right(0);
  let total = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const match = PART.exec(text);
    if (match === null) return Either.left(whyNotDuration(text));
    total += Number(match[1]) * UNIT_MS[match[2]];
    at = PART.lastIndex;
  }
  if (at === 0) return Either.left(whyNotDuration(text));
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) return Either.left(`${show(text)} is too long a duration`);
  return Either.right(ms);
};

/** The duration in whole units, largest first, zero parts left out: `1h30m`, `2d`, `500ms`; 0 is `0s`. */
export const formatDuration = (ms: DurationMs): string => {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
};

/**
 * A duration: a string like `30m`, `1h30m`, `2d`, `500ms`, or a whole number of milliseconds.
 * Encodes back to the shortest exact string (`1h30m`).
 */
export const DurationFromString: Schema.Schema<DurationMs, string | number> = Schema.transformOrFail(
  Schema.Union(Schema.String, Schema.Number).annotations({
    message: plain((issue) => `expected a duration like 30m or 1h, not ${show(issue.actual)}`),
  }),
  Schema.Number,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input === "number") {
        return Number.isSafeInteger(input) && input >= 0
          ? ParseResult.succeed(input)
          : ParseResult.fail(typeIssue(input, `${show(input)} is not a duration: a number means milliseconds and must be a whole number, 0 or more (or write 30s, 5m, 1h)`, ast));
      }
      return Either.match(parseDuration(input), {
        onLeft: (message) => ParseResult.fail(typeIssue(input, message, ast)),
        onRight: ParseResult.succeed,
      });
    },
    encode: (ms) => ParseResult.succeed(formatDuration(ms)),
  },
).annotations({ identifier: "DurationFromString" });
