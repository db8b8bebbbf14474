// `npm run sim -- <command>`: the simulator's command line. Thin: parse the command, hand
// off to the module that owns it, turn failures into exit codes (0 ok, 2 usage, 1 failure).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AUTOSCALE_USAGE, runAutoscaleCommand } from "../autoscale/command.js";
import { KEEPALIVE_USAGE, runKeepaliveCommand } from "../keepalive/command.js";
import { OPENB_USAGE, runOpenbCommand } from "../openb/command.js";
import { ExitCode, UsageError } from "./common.js";
import { RUN_HELP, runRunCommand } from "./run-command.js";

interface Command {
  readonly summary: string;
  readonly help: string;
  readonly run: (argv: string[]) => Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  run: { summary: "run a scenario (YAML) and write its JSON and HTML report", help: RUN_HELP, run: runRunCommand },
  openb: { summary: "the FGD paper's GPU packing experiment on the openb traces", help: OPENB_USAGE, run: runOpenbCommand },
  keepalive: { summary: "lease keep-alive / expiry policies on the Alibaba GenAI trace", help: KEEPALIVE_USAGE, run: runKeepaliveCommand },
  autoscale: { summary: "autoscaler policies on the Azure LLM trace", help: AUTOSCALE_USAGE, run: runAutoscaleCommand },
};

export const MAIN_HELP = `Usage: npm run sim -- <command> [options]

Berth's simulator: the same core (decide, placement, eviction, autoscaler) as the control
plane, on a simulated cluster, deterministic for a seed.

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join("\n")}

Run \`npm run sim -- <command> --help\` for a command's options.`;

export const main = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(MAIN_HELP);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`sim: unknown command ${JSON.stringify(name)}\n\n${MAIN_HELP}`);
    return ExitCode.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return ExitCode.ok;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === "UsageError") || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`sim ${name}: ${(e as Error).message}\n\n${command.help}`);
      return ExitCode.usage;
    }
    console.error(`sim ${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return ExitCode.failure;
  }
};

const isEntry = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (isEntry) process.exitCode = await main(process.argv.slice(2));
