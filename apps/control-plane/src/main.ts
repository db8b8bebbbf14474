#!/usr/bin/env -S npx tsx
// berthd: Berth's control plane. Reads its configuration (file, BERTH_* environment, flags),
// then runs the berthd layer until SIGINT/SIGTERM.
import { Cause, Effect, Either, Exit, Fiber, Layer, Logger, LogLevel } from "effect";
import { berthdLayer } from "./berthd.js";
import { parseFlags, USAGE } from "./config/flags.js";
import { loadConfig } from "./config/load.js";

const flags = parseFlags(process.argv.slice(2));
if (Either.isLeft(flags)) {
  process.stderr.write(`berthd: ${flags.left.message}\n${USAGE}\n`);
  process.exit(2);
}
if (flags.right.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const level = process.env.BERTH_LOG_LEVEL === "debug" ? LogLevel.Debug : LogLevel.Info;
const program = loadConfig({ flags: flags.right, env: process.env }).pipe(
  Effect.flatMap((config) => Layer.launch(berthdLayer(config))),
  Effect.provide(Logger.json),
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
    process.exit(1);
  }
  process.exit(0);
});
