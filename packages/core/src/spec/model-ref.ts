import { Either, ParseResult, Schema } from "effect";
import type { ModelRef } from "./types.js";
import { Issues, isPlainObject, show, plain } from "./issues.js";
import { dnsLabelProblem, DnsLabel } from "./name.js";

// A model reference names a model in a repository. Two input forms:
//   string  `name[:version][@repository]`   e.g. `simple`, `simple@demo`, `resnet50:3@models`
//   object  `{ name, version?, repository? }`
// When the repository is left out, the caller's `defaultRepository` option is used (the
// control plane passes its configured default); without one, the repository is required.
// Model names follow Triton's repository layout (a directory name, e.g. `densenet_onnx`);
// versions are Triton's positive integer version directories.

export interface ModelRefOptions {
  /** Repository for references that name none; when absent, every reference must name one. */
  readonly defaultRepository?: string;
}

export type ModelRefInput = string | { readonly name: string; readonly version?: number; readonly repository?: string };

export const MAX_MODEL_NAME_LENGTH = 128;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Problems with a model name, or undefined. */
export const modelNameProblem = (name: string): string | undefined => {
  if (name.length === 0) return "a model name cannot be empty";
  if (name.length > MAX_MODEL_NAME_LENGTH) return `model name ${show(name)} is too long: at most ${MAX_MODEL_NAME_LENGTH} characters`;
  if (!MODEL_NAME.test(name)) {
    return `${show(name)} is not a model name: use letters, digits, '_', '-' and '.', starting with a letter or digit (it is a directory in the repository)`;
  }
  return undefined;
};

export const ModelName = Schema.String.pipe(Schema.filter((s) => modelNameProblem(s) ?? true)).annotations({
  identifier: "ModelName",
  message: plain((issue) => (typeof issue.actual === "string" ? (modelNameProblem(issue.actual) ?? "not a model name") : `a model name must be a string, not ${show(issue.actual)}`)),
});

export const ModelVersion = Schema.Number.pipe(Schema.filter((n) => Number.isSafeInteger(n) && n >= 1)).annotations({
  identifier: "ModelVersion",
  message: plain((issue) => `${show(issue.actual)} is not a model version: versions are whole numbers from 1 (Triton's version directories)`),
});

/** The decoded shape, as a Schema (for storing decoded specs). */
export const ModelRefSchema = Schema.Struct({
  name: ModelName,
  version: Schema.optional(ModelVersion),
  repository: DnsLabel,
});

const STRING_FORM = /^([^:@]*)(?::([^:@]*))?(?:@([^:@]*))?$/;
const STRING_HINT = "write name, name:version, name@repository or name:version@repository (e.g. resnet50:3@models)";

const readRepository = (given: string | undefined, path: readonly PropertyKey[], issues: Issues, options: ModelRefOptions, actual: unknown): string | undefined => {
  const repository = given ?? options.defaultRepository;
  if (repository === undefined) {
    issues.add(path, actual, `${show(actual)} names no repository and no default repository is configured: write name@repository (e.g. simple@demo)`);
    return undefined;
  }
  const problem = dnsLabelProblem(repository);
  if (problem !== undefined) {
    issues.add(path, actual, `repository ${problem}`);
    return undefined;
  }
  return repository;
};

/** Read a model reference (either form) into `issues`; undefined when it has problems. */
export const readModelRef = (input: unknown, issues: Issues, options: ModelRefOptions): ModelRef | undefined => {
  if (typeof input === "string") {
    const match = STRING_FORM.exec(input);
    if (match === null) {
      issues.add([], input, `${show(input)} is not a model reference: ${STRING_HINT}`);
      return undefined;
    }
    const [, name, versionText, repositoryText] = match;
    const before = issues.list.length;
    const nameProblem = modelNameProblem(name);
    if (nameProblem !== undefined) issues.add([], input, `${show(input)}: ${nameProblem}`);
    let version: number | undefined;
    if (versionText !== undefined) {
      version = /^\d+$/.test(versionText) ? Number(versionText) : NaN;
      if (!(Number.isSafeInteger(version) && version >= 1)) {
        issues.add([], input, `${show(input)}: version ${show(versionText)} is not a whole number from 1; ${STRING_HINT}`);
      }
    }
    const repository = readRepository(repositoryText, [], issues, options, input);
    if (issues.list.length > before || repository === undefined) return undefined;
    return version === undefined ? { name, repository } : { name, version, repository };
  }
  if (!isPlainObject(input)) {
    issues.add([], input, `expected a model reference like simple@demo or { name, version, repository }, not ${show(input)}`);
    return undefined;
  }
  const object = issues.object(input, [], ["name", "version", "repository"], "a model reference");
  if (object === undefined) return undefined;
  const before = issues.list.length;
  const name = issues.required(object, "name", ModelName, [], "the model name is missing");
  const version = issues.optional(object, "version", ModelVersion, [], undefined);
  const given = issues.optional(object, "repository", Schema.String, [], undefined);
  const repository = readRepository(given, given === undefined ? [] : ["repository"], issues, options, input);
  if (issues.list.length > before || name === undefined || repository === undefined) return undefined;
  return version === undefined ? { name, repository } : { name, version, repository };
};

/** The string form: `name[:version]@repository`. */
export const formatModelRef = (ref: ModelRef): string =>
  `${ref.name}${ref.version === undefined ? "" : `:${ref.version}`}@${ref.repository}`;

/** Parse the string form alone (the CLI's argument); Left is a plain-English reason. */
export const parseModelRef = (text: string, options: ModelRefOptions = {}): Either.Either<ModelRef, string> => {
  const issues = new Issues();
  const ref = readModelRef(text, issues, options);
  if (ref !== undefined) return Either.right(ref);
  const first = issues.list[0];
  return Either.left(first !== undefined && first._tag === "Type" && first.message !== undefined ? first.message : `${show(text)} is not a model reference`);
};

const isModelRefInput = (u: unknown): u is ModelRefInput => typeof u === "string" || isPlainObject(u);

const ModelRefInputShape = Schema.declare(isModelRefInput, {
  identifier: "ModelRefInput",
  message: plain((issue) => `expected a model reference like simple@demo or { name, version, repository }, not ${show(issue.actual)}`),
});

/** A model reference from either input form; the repository default comes from `options`. Encodes to the string form. */
export const modelRefFromInput = (options: ModelRefOptions = {}): Schema.Schema<ModelRef, ModelRefInput> =>
  Schema.transformOrFail(ModelRefInputShape, ModelRefSchema, {
    strict: true,
    decode: (input, _, ast) => {
      const issues = new Issues();
      const ref = readModelRef(input, issues, options);
      return issues.result(ast, input, () => ref as ModelRef);
    },
    encode: (ref) => ParseResult.succeed(formatModelRef(ref)),
  });

/** Two references name the same model when repository and name match (versions of one model cannot load side by side in a lease). */
export const sameModel = (a: ModelRef, b: ModelRef): boolean => a.name === b.name && a.repository === b.repository;

