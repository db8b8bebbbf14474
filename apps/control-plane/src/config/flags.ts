import { Either } from "effect";
import { ConfigError } from "./errors.js";

/** Command-line flags of berthd; each one overrides the file and the environment. */
export interface Flags {
  readonly config?: string;
  readonly listen?: string;
  readonly http?: string;
  readonly stateDir?: string;
  readonly backend?: string;
  readonly help?: boolean;
}

const VALUED: Readonly<Record<string, keyof Flags>> = {
  "--config": "config",
  "--listen": "listen",
  "--http": "http",
  "--state-dir": "stateDir",
  "--backend": "backend",
};

export const USAGE = `usage: berthd [--config FILE] [--listen HOST:PORT] [--http HOST:PORT] [--state-dir DIR] [--backend process|sim|docker|kubernetes]
  --config FILE       YAML configuration (default: none; built-in defaults)
  --listen HOST:PORT  gRPC API (default 127.0.0.1:50051)
  --http HOST:PORT    /healthz, /readyz, /metrics (default 127.0.0.1:9400)
  --state-dir DIR     state (SQLite store, demo repository) (default ./.berth)
  --backend KIND      process (model server + sidecar per server as local processes), sim
                      (in-process simulated servers), docker (containers; image localhost/berth:dev)
                      or kubernetes (Deployments; kubeconfig from $KUBECONFIG or in-cluster)
Environment: BERTH_CONFIG, BERTH_LISTEN, BERTH_HTTP, BERTH_STATE_DIR, BERTH_BACKEND, BERTH_STORE_URL.`;

/** `--name value` and `--name=value`; an unknown flag or a missing value is an error naming it. */
export const parseFlags = (argv: readonly string[]): Either.Either<Flags, ConfigError> => {
  const flags: Record<string, string | boolean> = {};
  const problems: { path: string; message: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      flags.help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const key = VALUED[name];
    if (key === undefined) {
      problems.push({ path: arg, message: "unknown flag" });
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") problems.push({ path: name, message: "needs a value" });
    else flags[key] = value;
  }
  return problems.length > 0 ? Either.left(new ConfigError({ source: "command line", problems })) : Either.right(flags as Flags);
};
