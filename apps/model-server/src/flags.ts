// Command-line flags, spelled as tritonserver spells them, so the local backend can start
// either binary with the same arguments. `--flag value` and `--flag=value` are both accepted.
import type { ModelControlMode } from "./model-registry.js";

export interface ServerOptions {
  readonly modelRepository: string;
  /** 0 picks a free port. */
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  readonly httpAddress: string;
  readonly grpcAddress: string;
  readonly metricsAddress: string;
  readonly modelControlMode: ModelControlMode;
  /** Models to load at start in explicit mode; "*" loads every model. */
  readonly loadModels: readonly string[];
  /** Fail the start when a startup model fails to load (tritonserver's --exit-on-error). */
  readonly exitOnError: boolean;
  /** Threads ONNX Runtime may use within one operator; 0 is ORT's default. */
  readonly intraOpThreads: number;
}

export const DEFAULT_OPTIONS: Omit<ServerOptions, "modelRepository"> = {
  httpPort: 8000,
  grpcPort: 8001,
  metricsPort: 8002,
  httpAddress: "0.0.0.0",
  grpcAddress: "0.0.0.0",
  metricsAddress: "0.0.0.0",
  modelControlMode: "none",
  loadModels: [],
  exitOnError: true,
  intraOpThreads: 0,
};

export const USAGE = `usage: berth-model-server --model-repository DIR [options]
  --http-port N              HTTP/REST port (default 8000; 0 picks a free one)
  --grpc-port N              gRPC port (default 8001; 0 picks a free one)
  --metrics-port N           Prometheus /metrics port (default 8002; 0 picks a free one)
  --http-address A, --grpc-address A, --metrics-address A   bind addresses (default 0.0.0.0)
  --model-control-mode M     none (load everything at start) or explicit (load/unload API)
  --load-model NAME          load NAME at start in explicit mode; repeatable; '*' loads all
  --exit-on-error BOOL       fail the start when a startup model fails (default true)
  --intra-op-threads N       ONNX Runtime threads per operator (default: ORT's choice)
The chosen ports are printed as one JSON line on stdout once the server listens.`;

export class FlagError extends Error {}

const VALUED = new Set([
  "model-repository", "http-port", "grpc-port", "metrics-port", "http-address", "grpc-address", "metrics-address",
  "model-control-mode", "load-model", "exit-on-error", "intra-op-threads",
]);

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new FlagError(`--${flag} must be a port number (0-65535), got '${value}'`);
  return n;
}

function bool(flag: string, value: string): boolean {
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new FlagError(`--${flag} must be true or false, got '${value}'`);
}

export function parseFlags(argv: readonly string[]): ServerOptions {
  const options: { -readonly [K in keyof ServerOptions]?: ServerOptions[K] } = { loadModels: [] };
  const loadModels: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new FlagError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!VALUED.has(flag)) throw new FlagError(`unknown flag --${flag}`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new FlagError(`--${flag} needs a value`);
      value = argv[++i];
    }
    switch (flag) {
      case "model-repository":
        options.modelRepository = value;
        break;
      case "http-port":
        options.httpPort = port(flag, value);
        break;
      case "grpc-port":
        options.grpcPort = port(flag, value);
        break;
      case "metrics-port":
        options.metricsPort = port(flag, value);
        break;
      case "http-address":
        options.httpAddress = value;
        break;
      case "grpc-address":
        options.grpcAddress = value;
        break;
      case "metrics-address":
        options.metricsAddress = value;
        break;
      case "model-control-mode":
        if (value !== "explicit" && value !== "none") throw new FlagError(`--model-control-mode must be explicit or none (poll is not supported), got '${value}'`);
        options.modelControlMode = value;
        break;
      case "load-model":
        loadModels.push(value);
        break;
      case "exit-on-error":
        options.exitOnError = bool(flag, value);
        break;
      case "intra-op-threads": {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) throw new FlagError(`--intra-op-threads must be a non-negative integer, got '${value}'`);
        options.intraOpThreads = n;
        break;
      }
    }
  }
  if (options.modelRepository === undefined) throw new FlagError("--model-repository is required");
  if (loadModels.length > 0 && options.modelControlMode !== "explicit") {
    throw new FlagError("--load-model needs --model-control-mode explicit");
  }
  return { ...DEFAULT_OPTIONS, ...options, modelRepository: options.modelRepository, loadModels };
}
