#!/usr/bin/env -S npx tsx
// berthd: Berth's control plane. Reads its configuration (file, BERTH_* environment, flags),
// then serves (leading, or standing by to lead) until SIGINT/SIGTERM.
import { Cause, Effect, Either, Exit, Fiber, Logger, LogLevel } from "effect";
import { parseFlags, USAGE } from "./config/flags.js";
import { loadConfig } from "./config/load.js";
import { LEADERSHIP_LOST_EXIT_CODE, LeadershipLost, serveBerthd } from "./leadership/serve.js";
import { batchedLines, jsonLinesLogger } from "./log-sink.js";

const flags = parseFlags(process.argv.slice(2));
if (Either.isLeft(flags)) {
  process.stderr.write(`berthd: ${flags.left.message}\n${USAGE}\n`);
  process.exit(2);
}
if (flags.right.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

// One JSON object per line on stdout, written once per turn; whatever is held goes out at exit.
const logLines = batchedLines((chunk) => process.stdout.write(chunk));
process.on("exit", logLines.flush);

const level = process.env.BERTH_LOG_LEVEL === "debug" ? LogLevel.Debug : LogLevel.Info;
const program = loadConfig({ flags: flags.right, env: process.env }).pipe(
  // Read once: children (the process backend's servers and sidecars) inherit the environment.
  Effect.tap((config) => Effect.sync(() => config.secretEnv?.forEach((name) => delete process.env[name]))),
  Effect.flatMap((config) => serveBerthd(config)),
  Effect.provide(Logger.replace(Logger.defaultLogger, jsonLinesLogger(logLines))),
  Logger.withMinimumLogLevel(level),
);

const fiber = Effect.runFork(program);
const stop = () => Effect.runFork(Fiber.interrupt(fiber));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
fiber.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
    const failure = Cause.failureOption(exit.cause);
    process.stderr.write(`berthd: ${failure._tag === "Some" ? (failure.value as Error).message : Cause.pretty(exit.cause)}\n`);
    process.exit(failure._tag === "Some" && failure.value instanceof LeadershipLost ? LEADERSHIP_LOST_EXIT_CODE : 1);
  }
  process.exit(0);
});
