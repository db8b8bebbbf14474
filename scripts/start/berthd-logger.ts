// berthd's logs when it runs inside `npm start`: every line (JSON) to <stateDir>/berthd.log,
// warnings and errors also to stderr in a line a person reads, so the terminal shows the
// next steps and what went wrong, not the reconciler's chatter.
import { appendFileSync } from "node:fs";
import { Cause, HashMap, Layer, Logger, LogLevel } from "effect";

const text = (message: unknown): string => (Array.isArray(message) ? message.map(String).join(" ") : String(message));

export const berthdFileLogger = (file: string, minimum: LogLevel.LogLevel = LogLevel.Info): Layer.Layer<never> => {
  const toFile = Logger.map(Logger.jsonLogger, (line) => appendFileSync(file, `${line}\n`));
  const toTerminal = Logger.make(({ logLevel, message, annotations, cause }) => {
    if (LogLevel.lessThan(logLevel, LogLevel.Warning)) return;
    const fields = HashMap.toEntries(annotations).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    const why = Cause.isEmpty(cause) ? "" : ` ${Cause.pretty(cause).split("\n")[0]}`;
    process.stderr.write(`berthd ${logLevel.label.toLowerCase()}: ${text(message)}${fields.length > 0 ? ` (${fields.join(" ")})` : ""}${why}\n`);
  });
  return Layer.merge(Logger.replace(Logger.defaultLogger, Logger.zip(toFile, toTerminal)), Logger.minimumLogLevel(minimum));
};
