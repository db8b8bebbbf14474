// Where a call goes: --address, then a named target (--context/--target, BERTH_TARGET), then
// BERTH_ADDRESS, then the config's current target, then berthd's default address.
import { readFileSync } from "node:fs";
import { DEFAULT_BERTH_ADDRESS, type BerthClientOptions, type BerthTls } from "@berth/api/berth";
import type { Flags, Verb } from "./command.js";
import type { Io } from "./io.js";
import { loadConfig, type Target } from "./config.js";
import { CliError, ExitCode, usageError } from "./exit.js";

export interface Connection {
  readonly address: string;
  /** Where the address came from, for messages: "--address", "target prod", "BERTH_ADDRESS", "the default". */
  readonly source: string;
  readonly options: BerthClientOptions;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

const readPem = (path: string | undefined, what: string): Buffer | undefined => {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError({ exitCode: ExitCode.Failure, message: `cannot read the TLS ${what} ${path}: ${error instanceof Error ? error.message : String(error)}` });
  }
};

const tlsOf = (target: Target | undefined): BerthClientOptions["tls"] => {
  if (target?.tls === undefined) return undefined;
  const tls: BerthTls = {
    ...(target.tls.ca === undefined ? {} : { ca: readPem(target.tls.ca, "CA") }),
    ...(target.tls.cert === undefined ? {} : { cert: readPem(target.tls.cert, "certificate") }),
    ...(target.tls.key === undefined ? {} : { key: readPem(target.tls.key, "key") }),
  };
  return Object.keys(tls).length === 0 ? true : tls;
};

/** The name of the stored target the user picked, if any. A verb's own --target (lease create's) is not one. */
const chosenTarget = (flags: Flags, verb: Verb | undefined, io: Io): string | undefined => {
  const ownTarget = verb?.flags.some((f) => f.name === "target") === true;
  return flags.string("context") ?? (ownTarget ? undefined : flags.string("target")) ?? io.env.BERTH_TARGET;
};

export const resolveConnection = async (flags: Flags, verb: Verb | undefined, io: Io): Promise<Connection> => {
  const config = loadConfig(io);
  const name = chosenTarget(flags, verb, io);
  let target: Target | undefined;
  if (name !== undefined) {
    target = config.targets.find((t) => t.name === name);
    if (target === undefined) {
      throw usageError(`no target named "${name}"`, config.targets.length === 0
        ? "add one with `berth target add NAME --address HOST:PORT`"
        : `known targets: ${config.targets.map((t) => t.name).join(", ")} (see \`berth target list\`)`);
    }
  } else if (io.env.BERTH_ADDRESS === undefined && config.current !== undefined) {
    target = config.targets.find((t) => t.name === config.current);
  }
  const flagAddress = flags.string("address");
  const [address, source] =
    flagAddress !== undefined ? [flagAddress, "--address"]
    : target !== undefined ? [target.address, `target "${target.name}"`]
    : io.env.BERTH_ADDRESS !== undefined && io.env.BERTH_ADDRESS !== "" ? [io.env.BERTH_ADDRESS, "BERTH_ADDRESS"]
    : [DEFAULT_BERTH_ADDRESS, "the default address"];
  const token = flags.string("token") ?? io.env.BERTH_TOKEN ?? target?.token;
  const timeoutText = flags.string("timeout");
  let callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS;
  if (timeoutText !== undefined) {
    callTimeoutMs = (await import("./durations.js")).durationFlagValue("timeout", timeoutText);
    if (callTimeoutMs <= 0) throw usageError("--timeout: must be more than 0");
  }
  const tls = tlsOf(target);
  return {
    address,
    source,
    options: { callTimeoutMs, ...(token === undefined || token === "" ? {} : { token }), ...(tls === undefined ? {} : { tls }) },
  };
};
