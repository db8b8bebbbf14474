// berthd's logs when it runs inside `npm start`: every line (JSON) to <stateDir>/berthd.log,
// warnings and errors also to stderr in a line a person reads, so the terminal shows the
// next steps and what went wrong, not the reconciler's chatter.
import { closeSync, openSync, writeSync } from "node:fs";
import { Cause, Effect, HashMap, Layer, Logger, LogLevel } from "effect";
import { batchedLines, jsonLinesLogger } from "@berth/control-plane";

const text = (message: unknown): string => (Array.isArray(message) ? message.map(String).join(" ") : String(message));

export const berthdFileLogger = (file: string, minimum: LogLevel.LogLevel = LogLevel.Info): Layer.Layer<never> => {
  const toTerminal = Logger.make(({ logLevel, message, annotations, cause }) => {
    if (LogLevel.lessThan(logLevel, LogLevel.Warning)) return;
    const fields = HashMap.toEntries(annotations).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    const why = Cause.isEmpty(cause) ? "" : ` ${Cause.pretty(cause).split("\n")[0]}`;
    process.stderr.write(`berthd ${logLevel.label.toLowerCase()}: ${text(message)}${fields.length > 0 ? ` (${fields.join(" ")})` : ""}${why}\n`);
  });
  // The file is open while the stack runs; held lines are written when it stops, or at exit.
  const toFile = Effect.acquireRelease(
    Effect.sync(() => {
      const fd = openSync(file, "a");
      const lines = batchedLines((chunk) => writeSync(fd, chunk));
      process.on("exit", lines.flush);
      return { fd, lines };
    }),
    ({ fd, lines }) =>
      Effect.sync(() => {
        process.off("exit", lines.flush);
        lines.flush();
        closeSync(fd);
      }),
  ).pipe(Effect.map(({ lines }) => Logger.zip(jsonLinesLogger(lines), toTerminal)));
  return Layer.merge(Logger.replaceScoped(Logger.defaultLogger, toFile), Logger.minimumLogLevel(minimum));
};
