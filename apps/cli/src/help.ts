// --help text for berth, each group and each verb, generated from the command table.
import type { FlagSpec, Group, Verb } from "./command.js";
import { flagsOf } from "./args.js";
import { GLOBAL_FLAGS } from "./global-flags.js";
import { EXIT_CODE_HELP } from "./exit.js";

const flagUsage = (flag: FlagSpec): string =>
  `${flag.short === undefined ? "    " : `-${flag.short}, `}--${flag.name}${flag.kind === "boolean" ? "" : ` ${flag.value ?? "VALUE"}`}${flag.kind === "list" ? " (repeatable)" : ""}`;

const flagTable = (flags: readonly FlagSpec[]): string => {
  const usages = flags.map(flagUsage);
  const width = Math.min(40, Math.max(...usages.map((u) => u.length)) + 2);
  return flags.map((f, i) => `  ${usages[i].padEnd(width)}${usages[i].length >= width ? `\n  ${" ".repeat(width)}` : ""}${f.description}`).join("\n");
};

const exampleBlock = (examples: readonly string[]): string => examples.map((e) => `  ${e}`).join("\n");

const exitCodes = (): string => EXIT_CODE_HELP.map(([code, what]) => `  ${String(code).padStart(2)}  ${what}`).join("\n");

export const rootHelp = (groups: readonly Group[]): string => {
  const width = Math.max(...groups.map((g) => g.name.length)) + 2;
  return `berth: the command line for Berth's control plane (berthd).

Usage:
  berth GROUP VERB [ARGS] [FLAGS]
  berth help GROUP VERB     (or: berth GROUP VERB --help)

Commands:
${groups.map((g) => `  ${g.name.padEnd(width)}${g.summary}\n${" ".repeat(width + 2)}${g.verbs.map((v) => v.name).join(", ")}`).join("\n")}

Examples:
${exampleBlock([
  "berth lease create web -m simple --wait   # exit 0 once the lease is Ready",
  "berth lease list -o json                  # a JSON array of leases with name and phase",
  "berth lease release web",
  "berth target add prod --address berth.example.com:443 --ca ca.pem --use",
  "source <(berth completion bash)",
])}

Global flags:
${flagTable(GLOBAL_FLAGS)}

Where calls go: --address, else --context/--target (a stored target) or BERTH_TARGET, else
BERTH_ADDRESS, else the current stored target (config: $BERTH_CONFIG or
~/.config/berth/config.yaml), else 127.0.0.1:50051. The token: --token, BERTH_TOKEN, the target's.

Exit codes:
${exitCodes()}
`;
};

export const groupHelp = (group: Group): string => {
  const width = Math.max(...group.verbs.map((v) => v.name.length)) + 2;
  return `berth ${group.name}: ${group.summary}

Usage:
  berth ${group.name} VERB [ARGS] [FLAGS]

Verbs:
${group.verbs.map((v) => `  ${v.name.padEnd(width)}${v.summary}`).join("\n")}

Examples:
${exampleBlock(group.verbs.map((v) => v.examples[0]))}

Run \`berth ${group.name} VERB --help\` for a verb's flags and more examples.
`;
};

export const verbHelp = (group: Group, verb: Verb): string => {
  const args = verb.args.map((a) => (a.required ? a.name : `[${a.name}]`)).join(" ");
  const own = verb.flags;
  const globals = flagsOf(verb).filter((f) => !own.includes(f));
  return `berth ${group.name} ${verb.name}: ${verb.summary}

Usage:
  berth ${group.name} ${verb.name}${args === "" ? "" : ` ${args}`}${own.length > 0 ? " [FLAGS]" : ""}
${verb.aliases === undefined ? "" : `  (also: ${verb.aliases.map((a) => `berth ${group.name} ${a}`).join(", ")})\n`}${verb.description === undefined ? "" : `\n${verb.description}\n`}
Examples:
${exampleBlock(verb.examples)}
${own.length === 0 ? "" : `\nFlags:\n${flagTable(own)}\n`}
Global flags:
${flagTable(globals)}

Exit codes: 0 ok, 1 failure, 2 usage, 3 invalid argument, 4 not found, 5 already exists,
6 failed precondition, 7 resource exhausted, 8 unauthorized, 9 berthd unavailable, 10 timeout
(\`berth --help\` explains each).
`;
};
