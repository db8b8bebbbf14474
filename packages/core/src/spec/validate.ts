import { Data, Either, ParseResult, type Schema } from "effect";
import type { LeaseSpec, PoolSpec, ServerTemplate } from "./types.js";
import { problemsOf, type SpecProblem } from "./issues.js";
import { encodeLeaseSpec, leaseSpecFromInput, type LeaseSpecInput, type SpecOptions } from "./lease-spec.js";
import { encodePoolSpec, poolSpecFromInput, type PoolSpecInput } from "./pool-spec.js";
import { encodeServerTemplate, serverTemplateFromInput, type ImageOptions, type ServerTemplateInput } from "./server-template.js";

export type SpecKind = "LeaseSpec" | "PoolSpec" | "ServerTemplate";

const KIND_WORDS: Readonly<Record<SpecKind, string>> = { LeaseSpec: "lease spec", PoolSpec: "pool spec", ServerTemplate: "server template" };

/** Every problem of one rejected spec, each with its field path and a plain message. */
export class SpecErrors extends Data.TaggedError("SpecErrors")<{
  readonly kind: SpecKind;
  readonly problems: readonly SpecProblem[];
  readonly message: string;
}> {}

/** One line per problem: `resources.gpuMemory: "4Gb" is not a quantity: ...` (a problem with the whole spec has no path). */
export const formatProblems = (problems: readonly SpecProblem[]): string =>
  problems.map((p) => (p.path === "" ? p.message : `${p.path}: ${p.message}`)).join("\n");

export const specErrors = (kind: SpecKind, problems: readonly SpecProblem[]): SpecErrors =>
  new SpecErrors({
    kind,
    problems,
    message: `the ${KIND_WORDS[kind]} has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${formatProblems(problems)}`,
  });

const validateWith = <A, I>(kind: SpecKind, schema: Schema.Schema<A, I>, input: unknown): Either.Either<A, SpecErrors> =>
  Either.mapLeft(ParseResult.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(input), (issue) =>
    specErrors(kind, problemsOf(issue)));

// A schema's parser is compiled per schema value, and compiling costs more than decoding one
// spec; berthd validates every create with the same options, so it reuses one schema per options.
const LEASE_SCHEMAS_KEPT = 16;
const leaseSchemas = new Map<string, Schema.Schema<LeaseSpec, LeaseSpecInput>>();
const leaseSchemaFor = (options: SpecOptions): Schema.Schema<LeaseSpec, LeaseSpecInput> => {
  const key = JSON.stringify([options.defaultRepository, options.imageAllowlist]);
  let schema = leaseSchemas.get(key);
  if (schema === undefined) {
    if (leaseSchemas.size >= LEASE_SCHEMAS_KEPT) leaseSchemas.clear();
    schema = leaseSpecFromInput(options);
    leaseSchemas.set(key, schema);
  }
  return schema;
};

/** Decode and check a lease spec from user input (parsed YAML/JSON or a request), reporting every problem at once. */
export const validateLeaseSpec = (input: unknown, options: SpecOptions = {}): Either.Either<LeaseSpec, SpecErrors> =>
  validateWith("LeaseSpec", leaseSchemaFor(options), input);

export const validatePoolSpec = (input: unknown, options: ImageOptions = {}): Either.Either<PoolSpec, SpecErrors> =>
  validateWith("PoolSpec", poolSpecFromInput(options), input);

export const validateServerTemplate = (input: unknown, options: ImageOptions = {}): Either.Either<ServerTemplate, SpecErrors> =>
  validateWith("ServerTemplate", serverTemplateFromInput(options), input);

/** The user form of decoded specs (round trip: validating the result gives the spec back). */
export { encodeLeaseSpec, encodePoolSpec, encodeServerTemplate };
export type { LeaseSpecInput, PoolSpecInput, ServerTemplateInput };
