// Duration flags (`--timeout 30s`, `--wait-timeout 10m`) read with the core's duration rules.
// Loaded only by the code paths that read one (it brings effect along).
import { Either } from "effect";
import { parseDuration } from "@berth/core/spec/duration";
import { usageError } from "./exit.js";

/** Milliseconds in a duration flag's value; a bad value is a usage error (exit 2). */
export const durationFlagValue = (flag: string, text: string): number => {
  const ms = parseDuration(text);
  if (Either.isLeft(ms)) throw usageError(`--${flag}: ${ms.left}`);
  return ms.right;
};
