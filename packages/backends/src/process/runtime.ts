// Which program serves a replica, and with which command line: berth-model-server (default),
// tritonserver (configured and installed), or a custom command named by the spec's image.
// Both servers take the same flags, so one argument list serves either.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProcessBackendConfig, ProcessImage } from "./config.js";

/** The monorepo root, where node_modules (tsx) lives; the default commands run from here. */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const MODEL_SERVER_MAIN = join(REPO_ROOT, "apps/model-server/src/main.ts");
const SIDECAR_MAIN = join(REPO_ROOT, "apps/sidecar/src/main.ts");

/** Image names this backend knows without configuration (any other name runs the default server). */
export const MODEL_SERVER_IMAGE = "berth-model-server";

export type ServerRuntime =
  | { readonly kind: "model-server"; readonly command: readonly string[] }
  | { readonly kind: "tritonserver"; readonly command: readonly string[] }
  | { readonly kind: "custom"; readonly image: string; readonly command: readonly string[]; readonly env: Readonly<Record<string, string>> };

export interface ReplicaAddresses {
  readonly host: string;
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
  readonly modelRepository: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The executable `command` names: a path if it has a slash, else the first match on PATH. */
export function findExecutable(command: string, path: string = process.env.PATH ?? ""): string | undefined {
  if (command.includes("/")) return isExecutable(command) ? (isAbsolute(command) ? command : join(process.cwd(), command)) : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

const nodeTsx = (main: string): readonly string[] => [process.execPath, "--import", "tsx", main];

/** The default server: tritonserver when configured and found, the model server otherwise. */
export function defaultRuntime(config: ProcessBackendConfig): ServerRuntime {
  if (config.tritonserver !== undefined) {
    const found = findExecutable(config.tritonserver);
    if (found !== undefined) return { kind: "tritonserver", command: [found] };
  }
  return { kind: "model-server", command: config.modelServer ?? nodeTsx(MODEL_SERVER_MAIN) };
}

/** The runtime for `image`: a configured custom command, or the default server. */
export function runtimeFor(config: ProcessBackendConfig, fallback: ServerRuntime, image: string): ServerRuntime {
  const custom: ProcessImage | undefined = config.images[image];
  return custom === undefined ? fallback : { kind: "custom", image, command: custom.command, env: custom.env };
}

/** The full command line of a replica's server. */
export function serverCommand(runtime: ServerRuntime, at: ReplicaAddresses): readonly string[] {
  if (runtime.kind === "custom") {
    const fill = (arg: string): string =>
      arg
        .replaceAll("{host}", at.host)
        .replaceAll("{http}", String(at.http))
        .replaceAll("{grpc}", String(at.grpc))
        .replaceAll("{metrics}", String(at.metrics))
        .replaceAll("{modelRepository}", at.modelRepository);
    return [runtime.command[0], ...runtime.command.slice(1).map(fill)];
  }
  return [
    ...runtime.command,
    `--model-repository=${at.modelRepository}`,
    "--model-control-mode=explicit",
    `--http-port=${at.http}`,
    `--grpc-port=${at.grpc}`,
    `--metrics-port=${at.metrics}`,
    `--http-address=${at.host}`,
    `--grpc-address=${at.host}`,
    `--metrics-address=${at.host}`,
  ];
}

/** The custom image's executable, when it cannot be found (ImageNotFound before anything starts). */
export function missingExecutable(runtime: ServerRuntime): string | undefined {
  if (runtime.kind !== "custom") return undefined;
  return findExecutable(runtime.command[0]) === undefined ? runtime.command[0] : undefined;
}

export interface SidecarArguments {
  readonly berthd: string;
  readonly serverHttp: string;
  readonly serverId: string;
  readonly replicaId: string;
  readonly cache: string;
  readonly serverRepository: string;
  readonly repositories: readonly { readonly name: string; readonly location: string }[];
}

export function sidecarCommand(config: ProcessBackendConfig, a: SidecarArguments): readonly string[] {
  return [
    ...(config.sidecar ?? nodeTsx(SIDECAR_MAIN)),
    "--berthd", a.berthd,
    "--server-http", a.serverHttp,
    "--server-id", a.serverId,
    "--replica-id", a.replicaId,
    "--cache", a.cache,
    "--server-repository", a.serverRepository,
    ...a.repositories.flatMap((r) => ["--repository", `${r.name}=${r.location}`]),
    ...(config.sidecarActivityIntervalMs !== undefined ? ["--activity-interval-ms", String(config.sidecarActivityIntervalMs)] : []),
  ];
}
