// berth-router's command-line flags; `--flag value` and `--flag=value` both work.
import { isReplicaPickerName, type ReplicaPickerName } from "@berth/core/picker/registry";

export interface RouterFlags {
  readonly host: string;
  readonly httpPort: number;
  /** null when --grpc-port off. */
  readonly grpcPort: number | null;
  readonly routes: string | undefined;
  readonly picker: ReplicaPickerName;
  readonly seed: number | undefined;
  /** Processes sharing the listeners (node:cluster); 1 serves from this process alone. */
  readonly workers: number;
}

/** Triton's ports, so Triton clients reach the router with their defaults. */
export const DEFAULT_FLAGS: RouterFlags = { host: "127.0.0.1", httpPort: 8000, grpcPort: 8001, routes: undefined, picker: "power-of-two", seed: undefined, workers: 1 };

export const USAGE = `usage: berth-router [options]
  --host A            address to listen on (default 127.0.0.1)
  --http-port N       KServe v2 HTTP port (default 8000; 0 picks a free one)
  --grpc-port N       KServe v2 gRPC port (default 8001; 0 picks a free one; 'off' serves no gRPC)
  --routes FILE       routing table as JSON or YAML, reloaded when it changes
  --picker NAME       replica picker: power-of-two (default) or round-robin
  --seed N            seed of the picker's random source
  --workers N         worker processes sharing the ports (default 1); each follows the route file
                      and keeps its own replica load counts and activity
The chosen ports are printed as one JSON line on stdout once the router listens.`;

export class FlagError extends Error {}

const port = (flag: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new FlagError(`--${flag} must be a port number (0-65535), got '${value}'`);
  return n;
};

export function parseFlags(argv: readonly string[]): RouterFlags {
  const flags: { -readonly [K in keyof RouterFlags]: RouterFlags[K] } = { ...DEFAULT_FLAGS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new FlagError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!["host", "http-port", "grpc-port", "routes", "picker", "seed", "workers"].includes(flag)) throw new FlagError(`unknown flag --${flag}`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new FlagError(`--${flag} needs a value`);
    switch (flag) {
      case "host":
        flags.host = value;
        break;
      case "http-port":
        flags.httpPort = port(flag, value);
        break;
      case "grpc-port":
        flags.grpcPort = value === "off" ? null : port(flag, value);
        break;
      case "routes":
        flags.routes = value;
        break;
      case "picker":
        if (!isReplicaPickerName(value)) throw new FlagError(`--picker must be power-of-two or round-robin, got '${value}'`);
        flags.picker = value;
        break;
      case "seed": {
        const n = Number(value);
        if (!Number.isInteger(n)) throw new FlagError(`--seed must be an integer, got '${value}'`);
        flags.seed = n;
        break;
      }
      case "workers": {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 256) throw new FlagError(`--workers must be an integer from 1 to 256, got '${value}'`);
        flags.workers = n;
        break;
      }
    }
  }
  return flags;
}
