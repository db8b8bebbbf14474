import { ParseResult, Schema } from "effect";
import { DurationFromText } from "./quantity.js";

// Durations that vary (server start-up, model load, lease hold, inter-arrival gaps) are
// written as a distribution. A bare duration means "always this long".

const NonNegative = Schema.Number.pipe(Schema.nonNegative());

export const ConstantDistribution = Schema.Struct({ kind: Schema.Literal("constant"), value: DurationFromText });
export const UniformDistribution = Schema.Struct({ kind: Schema.Literal("uniform"), min: DurationFromText, max: DurationFromText }).pipe(
  Schema.filter((d) => d.min <= d.max || { path: ["max"], message: `max (${d.max} ms) is below min (${d.min} ms)` }),
);
export const ExponentialDistribution = Schema.Struct({ kind: Schema.Literal("exponential"), mean: DurationFromText });
/** Lognormal by its median and the standard deviation of its logarithm (load times are right-skewed). */
export const LognormalDistribution = Schema.Struct({ kind: Schema.Literal("lognormal"), median: DurationFromText, sigma: NonNegative });
/** Draw uniformly from these values. */
export const EmpiricalDistribution = Schema.Struct({
  kind: Schema.Literal("empirical"),
  values: Schema.NonEmptyArray(DurationFromText),
});
/**
 * Draw from a column of a measured data file under the shared data folder (for example the
 * GenAI trace's measured base-model load times). Read when the scenario is resolved, not decoded.
 */
export const MeasuredDistribution = Schema.Struct({
  kind: Schema.Literal("measured"),
  file: Schema.String.pipe(Schema.nonEmptyString()),
  column: Schema.String.pipe(Schema.nonEmptyString()),
  unit: Schema.optionalWith(Schema.Literal("ms", "s"), { default: () => "ms" as const }),
  /** Multiply every value (e.g. 0.1 to model ten times faster storage). */
  scale: Schema.optionalWith(NonNegative, { default: () => 1 }),
});

const TaggedDistribution = Schema.Union(
  ConstantDistribution,
  UniformDistribution,
  ExponentialDistribution,
  LognormalDistribution,
  EmpiricalDistribution,
  MeasuredDistribution,
);

/**
 * A bare duration (`5s`) means "always this long"; a mapping is one of the tagged kinds. The
 * input's shape picks the branch, so an error names the problem rather than every alternative.
 */
export const Distribution = Schema.transformOrFail(Schema.Unknown, Schema.typeSchema(TaggedDistribution), {
  strict: true,
  decode: (input, options) =>
    typeof input === "number" || typeof input === "string"
      ? ParseResult.map(ParseResult.decodeUnknown(DurationFromText)(input, options), (value) => ({ kind: "constant" as const, value }))
      : ParseResult.decodeUnknown(TaggedDistribution)(input, options),
  encode: (d) => ParseResult.encodeUnknown(TaggedDistribution)(d),
});
export type Distribution = typeof Distribution.Type;

/** A distribution with measured data already read: what a run samples from. */
export type ResolvedDistribution = Exclude<Distribution, { readonly kind: "measured" }>;
