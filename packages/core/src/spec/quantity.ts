import { Either, ParseResult, Schema } from "effect";
import type { Bytes, MilliCpu } from "../units.js";
import { show, typeIssue, plain } from "./issues.js";

// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), for the forms users
// write: `4Gi`, `512Mi`, `500m`, `1.5`, `1e3`, `2k`. Values are kept exact (bigint
// arithmetic) and rounded UP to whole units, as Kubernetes' Value()/MilliValue() do, so
// `0.1` CPU is 100m and `1.5Gi` is exactly 1610612736 bytes.

/** A parsed quantity: sign * digits * 10^(pow10 - fractionDigits) * 2^pow2. */
export interface Quantity {
  readonly negative: boolean;
  readonly digits: bigint;
  readonly fractionDigits: number;
  readonly pow10: number;
  readonly pow2: number;
}

const BINARY: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
/** Kubernetes caps exponents too; this keeps the bigint arithmetic small. */
const MAX_EXPONENT = 60;

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE])|[eE]([+-]?\d+))?$/;

const HINT = "use a number with a suffix like 512Mi or 4Gi (binary: Ki Mi Gi Ti Pi Ei; decimal: k M G T P E; thousandths: m)";

/** Plain-English reason a string is not a quantity, pointing at the likely mistake. */
const whyNotQuantity = (text: string): string => {
  if (text.trim() === "") return `an empty string is not a quantity: ${HINT}`;
  if (text.trim() !== text) return `${show(text)} has spaces around it: write ${show(text.trim())}`;
  if (/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s+\S+$/.test(text)) return `${show(text)} is not a quantity: write the number and suffix without a space`;
  const suffix = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(.+)$/.exec(text)?.[1];
  if (suffix !== undefined) {
    const lower = suffix.toLowerCase();
    const binary = Object.keys(BINARY).find((s) => s.toLowerCase() === lower || `${s.toLowerCase()}b` === lower);
    if (binary !== undefined) return `${show(text)} is not a quantity: the binary suffix is written ${binary} (e.g. 4${binary})`;
    if (/^[kmgtpe]b?$/.test(lower)) {
      const letter = lower[0] === "k" ? "k" : lower[0].toUpperCase();
      return `${show(text)} is not a quantity: write ${letter} for powers of 1000 or ${lower[0].toUpperCase()}i for powers of 1024 (e.g. 4${letter} or 4${lower[0].toUpperCase()}i)`;
    }
  }
  return `${show(text)} is not a quantity: ${HINT}`;
};

/** Parse a Kubernetes quantity string; Left is a plain-English reason. */
export const parseQuantity = (text: string): Either.Either<Quantity, string> => {
  const match = QUANTITY.exec(text);
  if (match === null) return Either.left(whyNotQuantity(text));
  const [, sign, number, binary, decimal, exponent] = match;
  const [whole, fraction = ""] = number.split(".");
  const pow10 = exponent !== undefined ? Number(exponent) : decimal !== undefined ? DECIMAL[decimal] : 0;
  if (Math.abs(pow10) > MAX_EXPONENT) return Either.left(`${show(text)} is out of range: the exponent must be between -${MAX_EXPONENT} and ${MAX_EXPONENT}`);
  return Either.right({
    negative: sign === "-",
    digits: BigInt((whole === "" ? "0" : whole) + fraction),
    fractionDigits: fraction.length,
    pow10,
    pow2: binary !== undefined ? BINARY[binary] : 0,
  });
};

const pow10n = (n: number): bigint => 10n ** BigInt(n);

/** The quantity in units of 10^-unitPow10 (0: whole units, 3: thousandths), rounded up as Kubernetes rounds. */
export const scaledValue = (q: Quantity, unitPow10: number): bigint => {
  const magnitude = q.digits * 2n ** BigInt(q.pow2);
  const shift = q.pow10 - q.fractionDigits + unitPow10;
  let value: bigint;
  if (shift >= 0) value = magnitude * pow10n(shift);
  else {
    const divisor = pow10n(-shift);
    value = (magnitude + divisor - 1n) / divisor;
  }
  return q.negative ? -value : value;
};

const toSafeNumber = (text: string, value: bigint, what: string): Either.Either<number, string> => {
  if (value < 0n) return Either.left(`${show(text)} is negative: ${what} must be 0 or more`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Either.left(`${show(text)} is too large for ${what}`);
  return Either.right(Number(value));
};

/** Bytes in a quantity string (`4Gi` -> 4294967296), rounded up to a whole byte. */
export const quantityToBytes = (text: string): Either.Either<Bytes, string> =>
  Either.flatMap(parseQuantity(text), (q) => toSafeNumber(text, scaledValue(q, 0), "a size"));

/** Thousandths of a CPU core in a quantity string (`500m` -> 500, `2` -> 2000, `0.5` -> 500), rounded up. */
export const quantityToMilli = (text: string): Either.Either<MilliCpu, string> =>
  Either.flatMap(parseQuantity(text), (q) => toSafeNumber(text, scaledValue(q, 3), "a CPU amount"));

/** `value / 2^pow2` or `value / 10^pow10` written with at most 3 decimals, when that is exact. */
const exactIn = (value: bigint, divisor: bigint): string | undefined => {
  if ((value * 1000n) % divisor !== 0n) return undefined;
  const whole = value / divisor;
  if (whole === 0n && value !== 0n) return undefined; // `500M`, not `0.5G`
  const thousandths = ((value * 1000n) / divisor) % 1000n;
  if (thousandths === 0n) return whole.toString();
  return `${whole}.${thousandths.toString().padStart(3, "0").replace(/0+$/, "")}`;
};

/**
 * The shortest exact quantity for a byte count: `4Gi`, `1.5Gi`, `500M`, or the plain number
 * when no suffix is shorter. `quantityToBytes(formatBytes(n)) === n` for every safe n >= 0.
 */
export const formatBytes = (bytes: Bytes): string => {
  const value = BigInt(bytes);
  let best = value.toString();
  const consider = (candidate: string | undefined, suffix: string): void => {
    if (candidate !== undefined && candidate.length + suffix.length < best.length) best = candidate + suffix;
  };
  for (const [suffix, pow2] of Object.entries(BINARY).reverse()) consider(exactIn(value, 2n ** BigInt(pow2)), suffix);
  for (const [suffix, pow10] of Object.entries(DECIMAL).reverse()) if (pow10 > 0) consider(exactIn(value, pow10n(pow10)), suffix);
  return best;
};

/** Milli-CPU as Kubernetes writes it: whole cores as a plain number (`2`), otherwise `500m`. */
export const formatMilliCpu = (milli: MilliCpu): string => (milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`);

const StringOrNumber = (expected: string) =>
  Schema.Union(Schema.String, Schema.Number).annotations({
    message: plain((issue) => `expected ${expected}, not ${show(issue.actual)}`),
  });

/**
 * A size in bytes: a quantity string (`4Gi`, `512Mi`, `1e9`) or a whole number of bytes.
 * Encodes back to the shortest exact quantity (`4Gi`).
 */
export const BytesFromQuantity: Schema.Schema<Bytes, string | number> = Schema.transformOrFail(
  StringOrNumber("a size like 4Gi or a number of bytes"),
  Schema.Number,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input === "number") {
        return Number.isSafeInteger(input) && input >= 0
          ? ParseResult.succeed(input)
          : ParseResult.fail(typeIssue(input, `${show(input)} is not a size: a number means bytes and must be a whole number, 0 or more (or write a quantity like 4Gi)`, ast));
      }
      return Either.match(quantityToBytes(input), {
        onLeft: (message) => ParseResult.fail(typeIssue(input, message, ast)),
        onRight: ParseResult.succeed,
      });
    },
    encode: (bytes) => ParseResult.succeed(formatBytes(bytes)),
  },
).annotations({ identifier: "BytesFromQuantity" });

/**
 * An amount of CPU in thousandths of a core: a quantity string (`500m`, `2`, `0.5`) or a
 * number of cores (`2`, `0.5`), as Kubernetes reads `cpu:`. Encodes back to `500m` / `2`.
 */
export const MilliCpuFromQuantity: Schema.Schema<MilliCpu, string | number> = Schema.transformOrFail(
  StringOrNumber("a CPU amount like 500m or 2"),
  Schema.Number,
  {
    strict: true,
    decode: (input, _, ast) => {
      const text = typeof input === "number" ? (Number.isFinite(input) ? String(input) : "") : input;
      const milli = typeof input === "number" && !(Number.isFinite(input) && input >= 0)
        ? Either.left(`${show(input)} is not a CPU amount: write cores, 0 or more (2, 0.5), or thousandths of a core (500m)`)
        : quantityToMilli(text);
      return Either.match(milli, {
        onLeft: (message) => ParseResult.fail(typeIssue(input, message, ast)),
        onRight: ParseResult.succeed,
      });
    },
    encode: (milli) => ParseResult.succeed(formatMilliCpu(milli)),
  },
).annotations({ identifier: "MilliCpuFromQuantity" });
