// The shape of the command table: groups of verbs, each with its arguments, flags, examples
// and a run function. Help, parsing and shell completion are all generated from it.
import type { BerthClient } from "@berth/api/berth";
import type { Io } from "./io.js";
import type { OutputOptions } from "./output.js";
import type { Connection } from "./connection.js";

/** string: one value; list: repeatable (each use adds one); int: a whole number; boolean: no value. */
export type FlagKind = "string" | "list" | "int" | "boolean";

export interface FlagSpec {
  /** Long name without the dashes, e.g. "gpu-memory". */
  readonly name: string;
  readonly short?: string;
  readonly kind: FlagKind;
  /** Placeholder in help, e.g. "QUANTITY". */
  readonly value?: string;
  readonly description: string;
  /** Allowed values (checked, and offered by shell completion). */
  readonly choices?: readonly string[];
}

export interface ArgSpec {
  readonly name: string;
  readonly required: boolean;
  /** Takes every remaining argument (one or more when required). */
  readonly variadic?: boolean;
}

export interface Flags {
  string(name: string): string | undefined;
  list(name: string): readonly string[];
  int(name: string): number | undefined;
  boolean(name: string): boolean;
  has(name: string): boolean;
}

export interface Context {
  readonly io: Io;
  /** "lease create", for messages. */
  readonly path: string;
  readonly args: readonly string[];
  readonly flags: Flags;
  readonly output: OutputOptions;
  /** Where the call goes (resolved lazily: target verbs never connect). */
  connection(): Promise<Connection>;
  /** A client for `connection()`; closed by main after the verb returns. */
  client(): Promise<BerthClient>;
}

export interface Verb {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly summary: string;
  /** Paragraphs printed under the usage line. */
  readonly description?: string;
  readonly args: readonly ArgSpec[];
  readonly flags: readonly FlagSpec[];
  /** Whole command lines, each optionally followed by "  # what it does". */
  readonly examples: readonly string[];
  /** Verbs that print resources take -o/--porcelain; the rest ignore them. */
  run(ctx: Context): Promise<number>;
}

export interface Group {
  readonly name: string;
  readonly summary: string;
  readonly verbs: readonly Verb[];
}
