// `npm start -- [flags]`: what the one-machine stack takes. berthd's own flags pass through
// (its configuration decides what they mean); the router's ports are the stack's.
export interface StartFlags {
  /** berthd flags, as given: --config, --listen, --http, --state-dir, --backend. */
  readonly berthd: { config?: string; listen?: string; http?: string; stateDir?: string; backend?: string };
  readonly kubeconfig?: string;
  readonly routerHost: string;
  /** 0 picks a free port. */
  readonly routerHttpPort: number;
  readonly routerGrpcPort: number;
  /** How often the router renews the leases it routed requests to (ms). */
  readonly activityIntervalMs: number;
  /** Print one JSON line with every address once up (for scripts and tests). */
  readonly json: boolean;
  readonly help: boolean;
}

export const START_USAGE = `usage: npm start -- [flags]
  --backend KIND          servers run as local processes (process, default), simulated (sim),
                          Docker containers (docker) or Kubernetes Deployments (kubernetes);
                          docker and kubernetes run the image localhost/berth:dev (npm run image:local)
  --kubeconfig FILE       the cluster of --backend kubernetes
  --config FILE           berthd's YAML configuration
  --state-dir DIR         berthd's state (SQLite store, demo repository, logs) (default ./.berth)
  --listen HOST:PORT      berthd's gRPC API (default 127.0.0.1:50051)
  --http HOST:PORT        berthd's /healthz, /readyz, /metrics (default 127.0.0.1:9400)
  --router-host HOST      the router's address (default 127.0.0.1)
  --router-http-port N    the router's KServe v2 HTTP port (default 8000; 0 picks one)
  --router-grpc-port N    the router's KServe v2 gRPC port (default 8001; 0 picks one)
  --router-activity-ms N  how often the router renews the leases it served (default 10000)
  --json                  print one JSON line with the addresses once everything is up`;

export class StartFlagError extends Error {
  override readonly name = "StartFlagError";
}

const BERTHD = { "--config": "config", "--listen": "listen", "--http": "http", "--state-dir": "stateDir", "--backend": "backend" } as const;

const port = (flag: string, value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new StartFlagError(`${flag}: expected a port number (0-65535), not "${value}"`);
  return n;
};

/** `--flag value` and `--flag=value`; an unknown flag or a missing value throws StartFlagError naming it. */
export function parseStartFlags(argv: readonly string[]): StartFlags {
  const berthd: StartFlags["berthd"] = {};
  let kubeconfig: string | undefined;
  let routerHost = "127.0.0.1";
  let routerHttpPort = 8000;
  let routerGrpcPort = 8001;
  let activityIntervalMs = 10_000;
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "--json") {
      json = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const known = flag in BERTHD || ["--kubeconfig", "--router-host", "--router-http-port", "--router-grpc-port", "--router-activity-ms"].includes(flag);
    if (!known) throw new StartFlagError(`unknown flag ${arg}`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") throw new StartFlagError(`${flag} needs a value`);
    if (flag in BERTHD) berthd[BERTHD[flag as keyof typeof BERTHD]] = value;
    else if (flag === "--kubeconfig") kubeconfig = value;
    else if (flag === "--router-host") routerHost = value;
    else if (flag === "--router-http-port") routerHttpPort = port(flag, value);
    else if (flag === "--router-grpc-port") routerGrpcPort = port(flag, value);
    else {
      activityIntervalMs = Number(value);
      if (!/^\d+$/.test(value) || activityIntervalMs < 10) throw new StartFlagError(`${flag}: expected milliseconds (at least 10), not "${value}"`);
    }
  }
  return { berthd, ...(kubeconfig !== undefined ? { kubeconfig } : {}), routerHost, routerHttpPort, routerGrpcPort, activityIntervalMs, json, help };
}
