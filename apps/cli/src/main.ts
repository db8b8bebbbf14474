// `berth`: parse argv against the command table, run the verb, map failures to exit codes.
import { pathToFileURL } from "node:url";
import { createBerthClient, type BerthClient } from "@berth/api/berth";
import type { Context } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { parseArgs } from "./args.js";
import { resolveConnection, type Connection } from "./connection.js";
import { describeFailure } from "./errors.js";
import { ExitCode } from "./exit.js";
import { groupHelp, rootHelp, verbHelp } from "./help.js";
import { processIo, type Io } from "./io.js";
import type { Format } from "./output.js";

/** Runs one command line; resolves to its exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let connection: Connection | undefined;
  let client: BerthClient | undefined;
  try {
    const parsed = await parseArgs(argv, COMMANDS);
    const { group, verb } = parsed;
    if (group === undefined) {
      const asked = parsed.help || argv.length === 0;
      (asked ? io.stdout : io.stderr).write(rootHelp(COMMANDS));
      return asked ? ExitCode.Ok : ExitCode.Usage;
    }
    if (verb === undefined) {
      if (!parsed.help) io.stderr.write(`error: \`berth ${group.name}\` needs a verb: ${group.verbs.map((v) => v.name).join(", ")}\n\n`);
      (parsed.help ? io.stdout : io.stderr).write(groupHelp(group));
      return parsed.help ? ExitCode.Ok : ExitCode.Usage;
    }
    if (parsed.help) {
      io.stdout.write(verbHelp(group, verb));
      return ExitCode.Ok;
    }
    const ctx: Context = {
      io,
      path: `${group.name} ${verb.name}`,
      args: parsed.args,
      flags: parsed.flags,
      output: { format: (parsed.flags.string("output") ?? "table") as Format, porcelain: parsed.flags.boolean("porcelain") },
      connection: async () => (connection ??= await resolveConnection(parsed.flags, verb, io)),
      client: async () => {
        const c = await ctx.connection();
        return (client ??= createBerthClient(c.address, c.options));
      },
    };
    return await verb.run(ctx);
  } catch (error) {
    const failure = describeFailure(error, connection);
    io.stderr.write(failure.lines.join("\n") + "\n");
    return failure.exitCode;
  } finally {
    client?.close();
  }
}

/** The process entry (bin/berth.mjs): real stdio, environment and clock. */
export async function runFromProcess(): Promise<void> {
  // `berth ... | head` closes stdout early; that is not an error worth a stack trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2), processIo());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runFromProcess();
