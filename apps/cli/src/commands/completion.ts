// berth completion bash|zsh|fish: scripts generated from the command table, so a new verb or
// flag completes without touching this file. Stored target names complete from
// `berth target list --porcelain`.
import type { FlagSpec, Group, Verb } from "../command.js";
import { flagsOf } from "../args.js";
import { GLOBAL_FLAGS } from "../global-flags.js";
import { ExitCode } from "../exit.js";

const TARGET_FLAGS = ["--context", "--target"];

const words = (flag: FlagSpec): string[] => [`--${flag.name}`, ...(flag.short === undefined ? [] : [`-${flag.short}`])];
const valueFlags = (groups: readonly Group[]): string[] =>
  [...new Set([...GLOBAL_FLAGS, ...groups.flatMap((g) => g.verbs.flatMap((v) => v.flags))].filter((f) => f.kind !== "boolean").flatMap(words))];
const choiceFlags = (groups: readonly Group[]): Map<string, readonly string[]> => {
  const out = new Map<string, readonly string[]>();
  for (const flag of [...GLOBAL_FLAGS, ...groups.flatMap((g) => g.verbs.flatMap((v) => v.flags))]) {
    if (flag.choices !== undefined) for (const w of words(flag)) out.set(w, flag.choices);
  }
  return out;
};
const verbNames = (v: Verb): string[] => [v.name, ...(v.aliases ?? [])];
const sq = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

export const bashScript = (groups: readonly Group[]): string => {
  const choices = [...choiceFlags(groups)].map(([flag, values]) => `    ${flag}) COMPREPLY=($(compgen -W "${values.join(" ")}" -- "$cur")); return;;`);
  const verbCases = groups.map((g) => `      ${g.name}) COMPREPLY=($(compgen -W "${g.verbs.flatMap(verbNames).join(" ")}" -- "$cur"));;`);
  const flagCases = groups.flatMap((g) => g.verbs.map((v) =>
    `    "${g.name} ${verbNames(v).join(`"|"${g.name} `)}") COMPREPLY=($(compgen -W "${flagsOf(v).flatMap(words).join(" ")}" -- "$cur"));;`));
  return `# bash completion for berth. Load it with:  source <(berth completion bash)
_berth() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local group="" verb="" i w
  for ((i=1; i<COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "\${COMP_WORDS[i-1]}" in ${valueFlags(groups).join("|")}) continue;; esac
    case "$w" in -*) continue;; esac
    if [[ -z "$group" ]]; then group="$w"; elif [[ -z "$verb" ]]; then verb="$w"; fi
  done
  case "$prev" in
${choices.join("\n")}
    ${TARGET_FLAGS.join("|")}) COMPREPLY=($(compgen -W "$(berth target list --porcelain 2>/dev/null | cut -f1)" -- "$cur")); return;;
    ${valueFlags(groups).join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return;;
  esac
  if [[ -z "$group" ]]; then
    COMPREPLY=($(compgen -W "${groups.map((g) => g.name).join(" ")} help ${GLOBAL_FLAGS.flatMap(words).join(" ")}" -- "$cur"))
    return
  fi
  if [[ -z "$verb" ]]; then
    case "$group" in
${verbCases.join("\n")}
    esac
    return
  fi
  [[ "$cur" == -* ]] || return
  case "$group $verb" in
${flagCases.join("\n")}
  esac
}
complete -F _berth berth
`;
};

export const zshScript = (groups: readonly Group[]): string => {
  const describe = (items: readonly (readonly [string, string])[]): string =>
    items.map(([name, summary]) => sq(`${name}:${summary.replace(/:/g, "\\:")}`)).join(" ");
  const choices = [...choiceFlags(groups)].map(([flag, values]) => `    ${flag}) compadd -- ${values.join(" ")}; return;;`);
  const verbCases = groups.map((g) => `      ${g.name}) verbs=(${describe(g.verbs.map((v) => [v.name, v.summary] as const))}); _describe -t verbs 'berth ${g.name} verb' verbs;;`);
  const flagCases = groups.flatMap((g) => g.verbs.map((v) =>
    `    "${g.name} ${verbNames(v).join(`"|"${g.name} `)}") compadd -- ${flagsOf(v).flatMap(words).join(" ")};;`));
  return `#compdef berth
# zsh completion for berth. Load it with:  source <(berth completion zsh)
# (or save it as _berth in a directory on $fpath)
_berth() {
  local group="" verb="" i w prev="\${words[CURRENT-1]}"
  local -a groups verbs
  for ((i=2; i<CURRENT; i++)); do
    w="\${words[i]}"
    case "\${words[i-1]}" in ${valueFlags(groups).join("|")}) continue;; esac
    case "$w" in -*) continue;; esac
    if [[ -z "$group" ]]; then group="$w"; elif [[ -z "$verb" ]]; then verb="$w"; fi
  done
  case "$prev" in
${choices.join("\n")}
    ${TARGET_FLAGS.join("|")}) compadd -- \${(f)"$(berth target list --porcelain 2>/dev/null | cut -f1)"}; return;;
    ${valueFlags(groups).join("|")}) _files; return;;
  esac
  if [[ -z "$group" ]]; then
    if [[ "\${words[CURRENT]}" == -* ]]; then compadd -- ${GLOBAL_FLAGS.flatMap(words).join(" ")}; return; fi
    groups=(${describe([...groups.map((g) => [g.name, g.summary] as const), ["help", "show help for a command"]])})
    _describe -t commands 'berth command' groups
    return
  fi
  if [[ -z "$verb" ]]; then
    case "$group" in
${verbCases.join("\n")}
    esac
    return
  fi
  case "$group $verb" in
${flagCases.join("\n")}
  esac
}
compdef _berth berth
`;
};

export const fishScript = (groups: readonly Group[]): string => {
  const lines = [
    "# fish completion for berth. Load it with:  berth completion fish | source",
    "# (or save it as ~/.config/fish/completions/berth.fish)",
    "complete -c berth -f",
  ];
  const flagLine = (condition: string, flag: FlagSpec): string => {
    const parts = ["complete -c berth", `-n ${sq(condition)}`, `-l ${flag.name}`];
    if (flag.short !== undefined) parts.push(`-s ${flag.short}`);
    if (flag.choices !== undefined) parts.push(`-x -a ${sq(flag.choices.join(" "))}`);
    else if (flag.name === "context" || flag.name === "target") parts.push(`-x -a ${sq("(berth target list --porcelain 2>/dev/null | cut -f1)")}`);
    else if (flag.kind !== "boolean") parts.push("-r");
    parts.push(`-d ${sq(flag.description)}`);
    return parts.join(" ");
  };
  const groupNames = groups.map((g) => g.name).join(" ");
  for (const flag of GLOBAL_FLAGS) lines.push(flagLine("true", flag));
  for (const g of groups) lines.push(`complete -c berth -n ${sq(`not __fish_seen_subcommand_from ${groupNames}`)} -a ${g.name} -d ${sq(g.summary)}`);
  for (const g of groups) {
    const all = g.verbs.flatMap(verbNames).join(" ");
    for (const v of g.verbs) {
      lines.push(`complete -c berth -n ${sq(`__fish_seen_subcommand_from ${g.name}; and not __fish_seen_subcommand_from ${all}`)} -a ${v.name} -d ${sq(v.summary)}`);
      const inVerb = `__fish_seen_subcommand_from ${g.name}; and __fish_seen_subcommand_from ${verbNames(v).join(" ")}`;
      for (const flag of v.flags) lines.push(flagLine(inVerb, flag));
    }
  }
  return lines.join("\n") + "\n";
};

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;

export const completionGroup = (table: () => readonly Group[]): Group => ({
  name: "completion",
  summary: "print a shell completion script (bash, zsh, fish)",
  verbs: (Object.keys(SHELLS) as (keyof typeof SHELLS)[]).map((shell): Verb => ({
    name: shell,
    summary: `print the ${shell} completion script`,
    args: [],
    flags: [],
    examples: shell === "fish"
      ? ["berth completion fish | source", "berth completion fish > ~/.config/fish/completions/berth.fish"]
      : [`source <(berth completion ${shell})  # in ~/.${shell}rc`],
    async run(ctx) {
      ctx.io.stdout.write(SHELLS[shell](table()));
      return ExitCode.Ok;
    },
  })),
});
