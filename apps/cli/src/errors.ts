// Turns whatever a verb threw into the lines to print and the exit code.
import { fieldViolationsOf, grpcStatusName, isServiceError } from "@berth/api/berth";
import { status } from "@grpc/grpc-js";
import { CliError, ExitCode, exitCodeForGrpcStatus } from "./exit.js";
import type { Connection } from "./connection.js";

export interface Failure {
  readonly exitCode: number;
  readonly lines: readonly string[];
}

const words = (statusName: string): string => statusName.toLowerCase().replace(/_/g, " ");

/** How to start berthd, for "cannot reach" messages. */
export const START_HINT =
  "is berthd running? Start it with `npm start` in the Berth repository, or point berth elsewhere with --address HOST:PORT, --context TARGET or BERTH_ADDRESS";

export const describeFailure = (error: unknown, connection: Connection | undefined): Failure => {
  if (error instanceof CliError) {
    return { exitCode: error.exitCode, lines: [`error: ${error.message}`, ...error.details.map((d) => `  ${d}`)] };
  }
  if (isServiceError(error)) {
    const exitCode = exitCodeForGrpcStatus(error.code);
    const [summary = "", ...rest] = (error.details ?? "").split("\n");
    if (error.code === status.UNAVAILABLE) {
      const where = connection === undefined ? "berthd" : `berthd at ${connection.address} (${connection.source})`;
      const why = summary.replace(/^No connection established\. Last error: (Error: )?/, "").replace(/\.?\s*Resolution note:.*$/, "");
      return { exitCode, lines: [`error: cannot reach ${where}: ${why}`, `  ${START_HINT}`] };
    }
    if (error.code === status.INVALID_ARGUMENT) {
      const violations = fieldViolationsOf(error);
      const lines = violations.length > 0
        ? violations.map((v) => `  ${v.field === "" ? v.description : `${v.field}: ${v.description}`}`)
        : rest.map((line) => `  ${line}`);
      return { exitCode, lines: [`error: invalid argument: ${summary}`, ...lines] };
    }
    if (error.code === status.DEADLINE_EXCEEDED) {
      return { exitCode, lines: [`error: berthd did not answer in time (${summary}); raise --timeout or check the server`] };
    }
    return { exitCode, lines: [`error: ${words(grpcStatusName(error.code))}: ${[summary, ...rest].join("\n  ")}`] };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.Failure, lines: [`error: ${message}`] };
};
