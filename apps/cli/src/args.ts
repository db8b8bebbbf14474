// Reads argv against the command table: `berth [global flags] GROUP VERB [args] [flags]`.
// Flags may come anywhere after the verb; before it only global flags are known. `--name=v`,
// `--name v`, `-o json`, `-ojson` and `--` (end of flags) are understood.
import type { FlagSpec, Flags, Group, Verb } from "./command.js";
import { GLOBAL_FLAGS } from "./global-flags.js";
import { usageError } from "./exit.js";

export interface Parsed {
  readonly group?: Group;
  readonly verb?: Verb;
  readonly args: readonly string[];
  readonly flags: Flags;
  /** --help, -h or `berth help ...`. */
  readonly help: boolean;
}

const flagWord = (flag: FlagSpec): string => `--${flag.name}`;

/** The flags a verb accepts: its own first, then the global ones it does not shadow. */
export const flagsOf = (verb: Verb | undefined): readonly FlagSpec[] => {
  const own = verb?.flags ?? [];
  return [...own, ...GLOBAL_FLAGS.filter((g) => !own.some((f) => f.name === g.name || (g.short !== undefined && f.short === g.short)))];
};

const helpFor = (group: Group | undefined, verb: Verb | undefined): string =>
  `see \`berth${group === undefined ? "" : ` ${group.name}`}${verb === undefined ? "" : ` ${verb.name}`} --help\``;

const makeFlags = (specs: readonly FlagSpec[], values: ReadonlyMap<string, readonly string[]>): Flags => {
  const spec = (name: string): FlagSpec | undefined => specs.find((f) => f.name === name);
  return {
    string: (name) => values.get(name)?.at(-1),
    list: (name) => values.get(name) ?? [],
    has: (name) => values.has(name),
    boolean: (name) => {
      const value = values.get(name)?.at(-1);
      return value !== undefined && value !== "false";
    },
    int: (name) => {
      const value = values.get(name)?.at(-1);
      if (value === undefined) return undefined;
      if (!/^-?\d+$/.test(value)) throw usageError(`--${name} takes a whole number, not "${value}"`, spec(name)?.description);
      return Number(value);
    },
  };
};

const closest = async (word: string, candidates: readonly string[]): Promise<string | undefined> =>
  (await import("./suggest.js")).closest(word, candidates);

export const parseArgs = async (argv: readonly string[], groups: readonly Group[]): Promise<Parsed> => {
  let group: Group | undefined;
  let verb: Verb | undefined;
  let help = false;
  let flagsEnded = false;
  const args: string[] = [];
  const values = new Map<string, string[]>();

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!flagsEnded && token === "--") {
      flagsEnded = true;
      continue;
    }
    if (!flagsEnded && token.startsWith("-") && token !== "-") {
      const known = flagsOf(verb);
      const long = token.startsWith("--");
      const body = long ? token.slice(2) : token.slice(1);
      const eq = long ? body.indexOf("=") : -1;
      const name = eq >= 0 ? body.slice(0, eq) : long ? body : body.slice(0, 1);
      let inline = eq >= 0 ? body.slice(eq + 1) : !long && body.length > 1 ? body.slice(1).replace(/^=/, "") : undefined;
      const flag = long ? known.find((f) => f.name === name) : known.find((f) => f.short === name);
      if (flag === undefined) {
        const guess = long && name.length > 0 ? (known.find((f) => f.name.startsWith(name))?.name ?? (await closest(name, known.map((f) => f.name)))) : undefined;
        const where = verb === undefined ? (group === undefined ? "berth" : `berth ${group.name}`) : `berth ${group?.name} ${verb.name}`;
        throw usageError(
          `unknown flag ${token.split("=")[0]} for \`${where}\`${guess === undefined ? "" : `; did you mean --${guess}?`}`,
          helpFor(group, verb),
        );
      }
      if (flag.kind === "boolean") {
        if (inline !== undefined && inline !== "true" && inline !== "false") {
          throw usageError(`${flagWord(flag)} takes no value (or =true/=false), not "${inline}"`, helpFor(group, verb));
        }
        inline ??= "true";
      } else if (inline === undefined) {
        const next = argv[i + 1];
        if (next === undefined) throw usageError(`${flagWord(flag)} needs a value${flag.value === undefined ? "" : ` (${flag.value})`}`, helpFor(group, verb));
        inline = next;
        i++;
      }
      if (flag.choices !== undefined && !flag.choices.includes(inline)) {
        throw usageError(`${flagWord(flag)} must be one of ${flag.choices.join(", ")}, not "${inline}"`, helpFor(group, verb));
      }
      if (flag.name === "help") help = inline === "true";
      const list = values.get(flag.name) ?? [];
      list.push(inline);
      values.set(flag.name, list);
      continue;
    }
    if (group === undefined && !flagsEnded && token === "help" && args.length === 0 && !help) {
      help = true;
      continue;
    }
    if (group === undefined) {
      group = groups.find((g) => g.name === token);
      if (group === undefined) {
        const guess = await closest(token, groups.map((g) => g.name));
        throw usageError(`unknown command "${token}"${guess === undefined ? "" : `; did you mean "${guess}"?`}`, "see `berth --help`");
      }
      continue;
    }
    if (verb === undefined) {
      verb = group.verbs.find((v) => v.name === token || (v.aliases ?? []).includes(token));
      if (verb === undefined) {
        const names = group.verbs.flatMap((v) => [v.name, ...(v.aliases ?? [])]);
        const guess = await closest(token, names);
        throw usageError(`unknown command "${group.name} ${token}"${guess === undefined ? "" : `; did you mean "${group.name} ${guess}"?`}`, helpFor(group, undefined));
      }
      continue;
    }
    args.push(token);
  }

  const flags = makeFlags(flagsOf(verb), values);
  if (help || verb === undefined) return { group, verb, args, flags, help };

  const required = verb.args.filter((a) => a.required).length;
  const variadic = verb.args.some((a) => a.variadic === true);
  if (args.length < required) {
    const missing = verb.args.slice(args.length).filter((a) => a.required).map((a) => a.name);
    throw usageError(`\`berth ${group?.name} ${verb.name}\` needs ${missing.join(" and ")}`, helpFor(group, verb));
  }
  if (!variadic && args.length > verb.args.length) {
    throw usageError(`\`berth ${group?.name} ${verb.name}\` takes ${verb.args.length === 0 ? "no arguments" : `at most ${verb.args.length} argument(s)`}; unexpected "${args[verb.args.length]}"`, helpFor(group, verb));
  }
  for (const spec of flagsOf(verb)) if (spec.kind === "int") flags.int(spec.name);
  return { group, verb, args, flags, help };
};
