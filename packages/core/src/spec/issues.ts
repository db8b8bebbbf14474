import { Either, ParseResult, Schema } from "effect";

// Spec decoding collects EVERY problem before failing: a user who sends a bad spec should
// see all of it at once, so the spec Schemas read their input field by field and keep
// going after a bad field. Problems are ParseResult issues (Pointer + Type with a plain
// message), so they travel through effect's Schema machinery and its ArrayFormatter.

export type SpecPath = readonly PropertyKey[];

/** One problem in a spec: where (e.g. `resources.gpuMemory`, `models[1].name`) and what, in plain words. */
export interface SpecProblem {
  readonly path: string;
  readonly message: string;
}

const anyAst = Schema.Unknown.ast;

const isIdentifier = (key: string): boolean => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);

/** `["models", 1, "name"]` -> `models[1].name`; odd keys (label keys) are quoted: `labels["app.kubernetes.io/name"]`. */
export const formatPath = (path: readonly PropertyKey[]): string => {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "symbol") out += `[${String(key)}]`;
    else if (isIdentifier(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
};

/** Every problem in an issue tree, with its path and message (effect's ArrayFormatter does the walking). */
export const problemsOf = (issue: ParseResult.ParseIssue): SpecProblem[] =>
  ParseResult.ArrayFormatter.formatIssueSync(issue).map((p) => ({ path: formatPath(p.path), message: p.message }));

const pointerTo = (path: SpecPath, actual: unknown, issue: ParseResult.ParseIssue): ParseResult.ParseIssue =>
  path.length === 0 ? issue : new ParseResult.Pointer(path as [PropertyKey, ...PropertyKey[]], actual, issue);

/** Quote a user's value for a message: strings in double quotes, the rest as JSON. */
export const show = (value: unknown): string => {
  if (value === undefined) return "nothing";
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return String(value);
  }
};

/** A plain-message Type issue, for schemas that build their own messages. */
export const typeIssue = (actual: unknown, message: string, ast = anyAst): ParseResult.Type =>
  new ParseResult.Type(ast, actual, message);

/** Levenshtein distance, to suggest the field a typo meant. Field lists are short; this is cheap. */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
};

export const closest = (word: string, candidates: readonly string[]): string | undefined => {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
};

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Collects problems while a spec is read; `null` counts as absent (YAML writes empty values as null). */
export class Issues {
  readonly list: ParseResult.ParseIssue[] = [];

  get ok(): boolean {
    return this.list.length === 0;
  }

  add(path: SpecPath, actual: unknown, message: string): void {
    this.list.push(pointerTo(path, actual, typeIssue(actual, message)));
  }

  /** Decode `value` with `schema`; on failure record every issue under `path` and return undefined. */
  decode<A, I>(schema: Schema.Schema<A, I>, value: unknown, path: SpecPath): A | undefined {
    const result = ParseResult.decodeUnknownEither(schema, { errors: "all" })(value);
    if (Either.isRight(result)) return result.right;
    this.list.push(pointerTo(path, value, result.left));
    return undefined;
  }

  /**
   * Read an object at `path`: report a non-object, and every key not in `known` (with a
   * "did you mean" when a known key is close). Returns undefined when it is not an object.
   */
  object(value: unknown, path: SpecPath, known: readonly string[], what: string): Record<string, unknown> | undefined {
    if (!isPlainObject(value)) {
      this.add(path, value, `${what} must be an object (a YAML mapping), not ${show(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const guess = closest(key, known);
      this.add([...path, key], value[key], guess === undefined
        ? `unknown field "${key}": ${what} has ${known.join(", ")}`
        : `unknown field "${key}": did you mean "${guess}"?`);
    }
    return value;
  }

  /** An optional field: absent or null gives `fallback`; present is decoded with `schema`. */
  optional<A, I>(object: Record<string, unknown>, key: string, schema: Schema.Schema<A, I>, path: SpecPath, fallback: A | undefined): A | undefined {
    const value = object[key];
    if (value === undefined || value === null) return fallback;
    return this.decode(schema, value, [...path, key]);
  }

  /** A required field: absent or null is reported with `missing`. */
  required<A, I>(object: Record<string, unknown>, key: string, schema: Schema.Schema<A, I>, path: SpecPath, missing: string): A | undefined {
    const value = object[key];
    if (value === undefined || value === null) {
      this.add([...path, key], value, missing);
      return undefined;
    }
    return this.decode(schema, value, [...path, key]);
  }

  /** An optional list: each element decoded with `element`, problems reported at `key[i]`. */
  array<A, I>(object: Record<string, unknown>, key: string, element: Schema.Schema<A, I>, path: SpecPath, what: string): A[] | undefined {
    const value = object[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.add([...path, key], value, `${what} must be a list, not ${show(value)}`);
      return undefined;
    }
    const out: A[] = [];
    let failed = false;
    value.forEach((item, index) => {
      const decoded = this.decode(element, item, [...path, key, index]);
      if (decoded === undefined) failed = true;
      else out.push(decoded);
    });
    return failed ? undefined : out;
  }

  /** Fail with every collected problem (as one Composite issue on `ast`), or succeed with `value()`. */
  result<A>(ast: Schema.Schema.AnyNoContext["ast"], actual: unknown, value: () => A): Either.Either<A, ParseResult.ParseIssue> {
    if (this.list.length === 0) return Either.right(value());
    return Either.left(new ParseResult.Composite(ast, actual, this.list as [ParseResult.ParseIssue, ...ParseResult.ParseIssue[]]));
  }
}

/**
 * A message annotation that also replaces effect's own message when the value has the wrong
 * type altogether (`"3"` where a number belongs), so users only ever read plain English.
 */
export const plain = (message: (issue: ParseResult.ParseIssue) => string) => (issue: ParseResult.ParseIssue) => ({ message: message(issue), override: true });
