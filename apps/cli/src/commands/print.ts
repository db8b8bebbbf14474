// Small helpers every command group uses to print and to report rejected specs.
import type { SpecErrors } from "@berth/core/spec/validate";
import type { Context } from "../command.js";
import { CliError, ExitCode } from "../exit.js";
import { renderList, renderOne, type View } from "../output.js";

export const printList = <R>(ctx: Context, rows: readonly R[], view: View<R>): number => {
  const { stdout, stderr } = renderList(rows, view, ctx.output);
  ctx.io.stdout.write(stdout);
  ctx.io.stderr.write(stderr);
  return ExitCode.Ok;
};

/**
 * One resource after a change: JSON/YAML/porcelain print the resource, the default table
 * prints `message` (kubectl's `lease/web created`).
 */
export const printChanged = <R>(ctx: Context, row: R, view: View<R>, message: string): number => {
  if (!ctx.output.porcelain && (ctx.output.format === "table" || ctx.output.format === "wide")) ctx.io.stdout.write(`${message}\n`);
  else ctx.io.stdout.write(renderOne(row, view, ctx.output));
  return ExitCode.Ok;
};

/** A spec the CLI checked before calling berthd: every problem, as berthd would report it (exit 3). */
export const specRejected = (errors: SpecErrors): CliError =>
  new CliError({
    exitCode: ExitCode.InvalidArgument,
    message: `invalid argument: the ${errors.kind === "LeaseSpec" ? "lease" : "pool"} spec has ${errors.problems.length} problem${errors.problems.length === 1 ? "" : "s"} (nothing was sent to berthd)`,
    details: errors.problems.map((p) => (p.path === "" ? p.message : `${p.path}: ${p.message}`)),
  });

/** Turn `key=value` flags into a record; a malformed one is a usage error. */
export const keyValues = (flag: string, items: readonly string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new CliError({ exitCode: ExitCode.Usage, message: `--${flag} takes KEY=VALUE, not "${item}"` });
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
};
