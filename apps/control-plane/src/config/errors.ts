import { Data } from "effect";

/** One problem in berthd's configuration: the key path (`store.kind`, `auth.tokens[0].tenant`) and what is wrong. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** The configuration (file, environment or flags) cannot be used: every problem, each with its key path. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly source: string;
  readonly problems: readonly ConfigProblem[];
}> {
  override get message(): string {
    return `${this.source}: ${this.problems.length} problem${this.problems.length === 1 ? "" : "s"}:\n${this.problems
      .map((p) => `  ${p.path === "" ? "(top level)" : p.path}: ${p.message}`)
      .join("\n")}`;
  }
}
