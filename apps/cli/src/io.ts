// Everything the CLI touches outside itself, handed in so tests run `main` in-process with
// captured output, their own environment and a fixed clock.
import { homedir } from "node:os";

export interface Stream {
  write(text: string): void;
  /** A terminal: progress uses a spinner and rewrites its line. */
  readonly isTTY?: boolean;
}

export interface Io {
  readonly stdout: Stream;
  readonly stderr: Stream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => number;
  readonly homedir: string;
}

export const processIo = (): Io => ({
  stdout: { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY === true },
  stderr: { write: (text) => void process.stderr.write(text), isTTY: process.stderr.isTTY === true },
  env: process.env,
  now: () => Date.now(),
  homedir: homedir(),
});
