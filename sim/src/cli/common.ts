import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** A command-line mistake: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly help: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** sim/out under the repository (git-ignored). */
export const defaultOutDir = (): string => resolve(dirname(fileURLToPath(import.meta.url)), "../../out");
