// Which program serves a replica, and with which command line: berth-model-server (default),
// tritonserver (configured and installed), or a custom command named by the spec's image.
// Both servers take the same flags, so one argument list serves either.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLE_ENTRIES, type BundleLocation, type BundleName, defaultBundleLocation, freshBundle, prepareBundle } from "./bundle.js";
import type { ProcessBackendConfig, ProcessImage } from "./config.js";

/** The monorepo root, where node_modules (tsx) lives; the default commands run from here. */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const MODEL_SERVER_MAIN = join(REPO_ROOT, BUNDLE_ENTRIES["model-server"]);

/**
 * How the default model server and sidecar run: `BERTH_PROCESS_RUNTIME=tsx` always from the
 * TypeScript sources under tsx (the old way: slower to start, nothing cached); anything else
 * (the default) from a pre-built bundle when an up-to-date one exists, else under tsx while
 * the bundle builds in the background (see bundle.ts).
 */
export const ENV_PROCESS_RUNTIME = "BERTH_PROCESS_RUNTIME";
const bundlesWanted = (): boolean => process.env[ENV_PROCESS_RUNTIME] !== "tsx";
const BUNDLES: BundleLocation = defaultBundleLocation(REPO_ROOT);

/** Image names this backend knows without configuration (any other name runs the default server). */
export const MODEL_SERVER_IMAGE = "berth-model-server";

export type ServerRuntime =
  | {
      readonly kind: "model-server";
      readonly command: readonly string[];
      /** Set for the built-in default: each start runs its bundle when fresh, else `command`. */
      readonly bundle?: BundleName;
    }
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

/** The command of a built-in program: its bundle when fresh (and wanted), else tsx on its sources. */
export function builtinCommand(name: BundleName, at: BundleLocation = BUNDLES): readonly string[] {
  const bundle = bundlesWanted() ? freshBundle(name, at) : undefined;
  return bundle !== undefined ? [process.execPath, bundle] : nodeTsx(join(at.root, BUNDLE_ENTRIES[name]));
}

/** Builds the bundles the default commands of `config` use, in the background (never fails). */
export function prepareRuntime(config: ProcessBackendConfig, server: ServerRuntime, at: BundleLocation = BUNDLES): Promise<void> {
  if (!bundlesWanted()) return Promise.resolve();
  const names: BundleName[] = [
    ...(server.kind === "model-server" && server.bundle !== undefined ? [server.bundle] : []),
    ...(config.sidecar === undefined ? ["sidecar" as const] : []),
  ];
  return Promise.all(names.map((name) => prepareBundle(name, at))).then(() => undefined);
}

/**
 * The default server: tritonserver when configured and found, the model server otherwise.
 * Starts building the model server's and sidecar's bundles, so that starts soon after run them.
 */
export function defaultRuntime(config: ProcessBackendConfig): ServerRuntime {
  const runtime = serverRuntimeOf(config);
  void prepareRuntime(config, runtime);
  return runtime;
}

function serverRuntimeOf(config: ProcessBackendConfig): ServerRuntime {
  if (config.tritonserver !== undefined) {
    const found = findExecutable(config.tritonserver);
    if (found !== undefined) return { kind: "tritonserver", command: [found] };
  }
  return config.modelServer !== undefined
    ? { kind: "model-server", command: config.modelServer }
    : { kind: "model-server", command: nodeTsx(MODEL_SERVER_MAIN), bundle: "model-server" };
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
    ...(runtime.kind === "model-server" && runtime.bundle !== undefined ? builtinCommand(runtime.bundle) : runtime.command),
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
    ...(config.sidecar ?? builtinCommand("sidecar")),
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
