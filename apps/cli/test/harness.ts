// Runs the CLI in-process with captured output and its own environment (no real config file).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/main.js";
import type { Io } from "../src/io.js";

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const tempConfig = (): string => join(mkdtempSync(join(tmpdir(), "berth-cli-")), "config.yaml");

export const runCli = async (argv: readonly string[], env: Record<string, string> = {}, tty = false): Promise<Run> => {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: { write: (t) => { stdout += t; }, isTTY: false },
    stderr: { write: (t) => { stderr += t; }, isTTY: tty },
    env: { BERTH_CONFIG: join(tmpdir(), "berth-cli-no-config", "config.yaml"), ...env },
    now: Date.now,
    homedir: tmpdir(),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
};
