// The progress display of `lease create --wait`: one line per phase change with its time
// (always, so logs and CI show the history); on a terminal also a spinner line with the latest
// message and the time waited, rewritten in place. Everything goes to stderr.
import type { Io } from "./io.js";
import { humanSpan } from "./output.js";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CLEAR_LINE = "\r\x1b[2K";

export class ProgressDisplay {
  private lastLine = "";
  private phase = "";
  private message = "";
  private frame = 0;
  private readonly started: number;
  private readonly timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly io: Io, private readonly name: string) {
    this.started = io.now();
    if (io.stderr.isTTY === true) this.timer = setInterval(() => this.spin(), 100);
  }

  update(phase: string, message: string): void {
    const line = `${new Date(this.io.now()).toISOString().replace(/\.\d+Z$/, "Z")}  ${this.name}  ${phase.padEnd(8)}  ${message}`.trimEnd();
    if (phase !== this.phase || message !== this.message) {
      this.clear();
      this.io.stderr.write(`${line}\n`);
    }
    this.phase = phase;
    this.message = message;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.clear();
  }

  private spin(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.lastLine = `${FRAMES[this.frame]} ${this.phase || "waiting"}  ${humanSpan(this.io.now() - this.started)}`;
    this.io.stderr.write(`${CLEAR_LINE}${this.lastLine}`);
  }

  private clear(): void {
    if (this.lastLine !== "") this.io.stderr.write(CLEAR_LINE);
    this.lastLine = "";
  }
}
