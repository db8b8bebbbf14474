// What the Docker backend creates for one replica, as plain data (pure: no engine calls): a
// server container and a sidecar container on the host network, sharing a volume that is the
// server's model repository, labelled so that a restarted berthd knows them as its own.
import type Docker from "dockerode";
import { isAbsolute } from "node:path";
import { serverCommand } from "../process/runtime.js";
import { LABEL_GROUP, LABEL_MANAGED_BY, LABEL_REPLICA, LABEL_SERVER_ID, LABEL_VALUE_PATTERN, type ReplicaPlacement, replicaId, type ServerSpec, sidecarEnvironment } from "../spec.js";
import type { DockerBackendConfig } from "./config.js";

export const MANAGED_BY_DOCKER = "berth-docker-backend";
export const LABEL_INSTANCE = "berth.dev/backend-instance";
export const LABEL_ROLE = "berth.dev/role";
export const LABEL_HTTP_PORT = "berth.dev/http-port";
export const LABEL_GRPC_PORT = "berth.dev/grpc-port";
export const LABEL_METRICS_PORT = "berth.dev/metrics-port";
/** The spec (JSON) the container was made for, and its generation: adoption takes the newest. */
export const LABEL_SPEC = "berth.dev/spec";
export const LABEL_GENERATION = "berth.dev/generation";

/** Where the shared volume is mounted in both containers. */
export const MODEL_REPOSITORY = "/models";

export type Role = "server" | "sidecar";

export interface Ports {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

export const containerName = (serverId: string, index: number, role: Role): string => `berth-${replicaId(serverId, index)}-${role}`;
export const volumeName = (serverId: string, index: number): string => `berth-${replicaId(serverId, index)}-models`;

/** The labels that select everything of one backend instance. */
export const instanceLabels = (config: DockerBackendConfig): Record<string, string> => ({ [LABEL_MANAGED_BY]: MANAGED_BY_DOCKER, [LABEL_INSTANCE]: config.instance });

/** Labels of a server's containers: the spec's own, then Berth's (which win). */
export function serverLabels(config: DockerBackendConfig, spec: ServerSpec): Record<string, string> {
  return {
    ...spec.labels,
    ...instanceLabels(config),
    [LABEL_SERVER_ID]: spec.serverId,
    ...(LABEL_VALUE_PATTERN.test(spec.group) ? { [LABEL_GROUP]: spec.group } : {}),
    "app.kubernetes.io/name": "berth-server",
    "app.kubernetes.io/instance": spec.serverId,
    "app.kubernetes.io/part-of": "berth",
    "app.kubernetes.io/managed-by": "berth",
  };
}

export interface ReplicaContainers {
  readonly volume: { readonly name: string; readonly labels: Record<string, string> };
  readonly server: Docker.ContainerCreateOptions;
  readonly sidecar?: Docker.ContainerCreateOptions;
}

/** The image reference and command of the spec's server (a configured custom image, or the model server). */
export function serverRun(config: DockerBackendConfig, spec: ServerSpec, ports: Ports): { image: string; command: readonly string[]; env: Record<string, string> } {
  const at = { host: config.host, ...ports, modelRepository: MODEL_REPOSITORY };
  const custom = config.images[spec.image];
  if (custom !== undefined) {
    return {
      image: custom.image ?? spec.image,
      command: serverCommand({ kind: "custom", image: spec.image, command: custom.command, env: custom.env }, at),
      env: { ...custom.env },
    };
  }
  return { image: spec.image, command: serverCommand({ kind: "model-server", command: config.serverCommand }, at), env: {} };
}

/** The image reference a spec runs (ImageNotFound names it). */
export const imageOf = (config: DockerBackendConfig, spec: ServerSpec): string => config.images[spec.image]?.image ?? spec.image;

/** Host paths the sidecar reads: directory repositories and the model cache, mounted at the same paths. */
function sidecarBinds(spec: ServerSpec): string[] {
  if (spec.sidecar === undefined) return [];
  const dirs = spec.sidecar.repositories.map((r) => r.location).filter((l) => isAbsolute(l));
  return [`${spec.sidecar.cache}:${spec.sidecar.cache}`, ...dirs.map((d) => `${d}:${d}:ro`)];
}

const env = (vars: Record<string, string>): string[] => Object.entries(vars).map(([k, v]) => `${k}=${v}`);

/**
 * The replica's volume and containers. `hostCpus` caps the CPU limit: the engine refuses a limit
 * above the CPUs its host has, and a replica asking for more than the node has gets all of it.
 */
export function replicaContainers(
  config: DockerBackendConfig,
  spec: ServerSpec,
  index: number,
  placement: ReplicaPlacement,
  ports: Ports,
  generation: number,
  hostCpus = Number.POSITIVE_INFINITY,
): ReplicaContainers {
  const base = serverLabels(config, spec);
  const replicaLabels = {
    ...base,
    [LABEL_REPLICA]: String(index),
    [LABEL_HTTP_PORT]: String(ports.http),
    [LABEL_GRPC_PORT]: String(ports.grpc),
    [LABEL_METRICS_PORT]: String(ports.metrics),
    [LABEL_SPEC]: JSON.stringify(spec),
    [LABEL_GENERATION]: String(generation),
  };
  const volume = volumeName(spec.serverId, index);
  const run = serverRun(config, spec, ports);
  const gpus = placement.gpus.map(String);
  const restartPolicy = { Name: "on-failure", MaximumRetryCount: config.maxFastCrashes };
  // The model cache is mounted in the server too: the sidecar links pulled models into the
  // server's repository, and the links must resolve in the server's container as well.
  const cacheBind = spec.sidecar !== undefined ? [`${spec.sidecar.cache}:${spec.sidecar.cache}:ro`] : [];
  const server: Docker.ContainerCreateOptions = {
    name: containerName(spec.serverId, index, "server"),
    Image: run.image,
    Entrypoint: [run.command[0]],
    Cmd: run.command.slice(1),
    Env: env({ ...run.env, ...(gpus.length > 0 ? { NVIDIA_VISIBLE_DEVICES: gpus.join(",") } : {}) }),
    Labels: { ...replicaLabels, [LABEL_ROLE]: "server", "app.kubernetes.io/component": "server" },
    HostConfig: {
      NetworkMode: "host",
      RestartPolicy: restartPolicy,
      Binds: [`${volume}:${MODEL_REPOSITORY}`, ...cacheBind],
      ...(spec.resources.memory > 0 ? { Memory: Math.ceil(spec.resources.memory) } : {}),
      ...(spec.resources.cpu > 0 ? { NanoCpus: Math.min(Math.ceil(spec.resources.cpu * 1_000_000), hostCpus * 1_000_000_000) } : {}),
      ...(gpus.length > 0
        ? {
            DeviceRequests: [{ Driver: "nvidia", DeviceIDs: gpus, Capabilities: [["gpu"]] }],
            ...(config.gpuRuntime !== undefined ? { Runtime: config.gpuRuntime } : {}),
          }
        : {}),
    },
  };
  const settings = spec.sidecar;
  const sidecar: Docker.ContainerCreateOptions | undefined =
    settings === undefined
      ? undefined
      : {
          name: containerName(spec.serverId, index, "sidecar"),
          Image: config.sidecarImage ?? run.image,
          Entrypoint: [config.sidecarCommand[0]],
          Cmd: [
            ...config.sidecarCommand.slice(1),
            "--berthd", settings.berthd,
            "--server-http", `${config.host}:${ports.http}`,
            "--server-id", spec.serverId,
            "--replica-id", replicaId(spec.serverId, index),
            "--cache", settings.cache,
            "--server-repository", MODEL_REPOSITORY,
            ...settings.repositories.flatMap((r) => ["--repository", `${r.name}=${r.location}`]),
          ],
          // Credentials go in the environment, never on the command line (ps and inspect's Args show that).
          Env: env(sidecarEnvironment(settings)),
          Labels: { ...replicaLabels, [LABEL_ROLE]: "sidecar", "app.kubernetes.io/component": "sidecar" },
          HostConfig: { NetworkMode: "host", RestartPolicy: restartPolicy, Binds: [`${volume}:${MODEL_REPOSITORY}`, ...sidecarBinds(spec)] },
        };
  return { volume: { name: volume, labels: { ...base, [LABEL_REPLICA]: String(index) } }, server, ...(sidecar !== undefined ? { sidecar } : {}) };
}

/** The ports a container was created with, from its labels. */
export function portsOf(labels: Readonly<Record<string, string>>): Ports | undefined {
  const http = Number(labels[LABEL_HTTP_PORT]);
  const grpc = Number(labels[LABEL_GRPC_PORT]);
  const metrics = Number(labels[LABEL_METRICS_PORT]);
  return [http, grpc, metrics].every((p) => Number.isInteger(p) && p > 0) ? { http, grpc, metrics } : undefined;
}
