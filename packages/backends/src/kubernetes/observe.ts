// From what the API server holds (server records, replica Deployments, pods) to observations.
// Pure: the watches keep the decoded objects, this turns them into ObservedServer values.
import { Either, Schema } from "effect";
import type { ObservedReplica, ObservedServer, ReplicaFailure, ReplicaState } from "../observation.js";
import { LABEL_REPLICA, LABEL_SERVER_ID, placementOf, replicaId, ServerSpecSchema, type ServerSpec } from "../spec.js";
import { ANNOTATION_HOST_PORTS, POD_PORTS, SERVER_CONTAINER, SPEC_KEY } from "./objects.js";
import { parseHostPorts } from "./ports.js";

const Metadata = Schema.Struct({
  name: Schema.String,
  uid: Schema.optional(Schema.String),
  resourceVersion: Schema.optional(Schema.String),
  labels: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  annotations: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  deletionTimestamp: Schema.optional(Schema.Unknown),
  creationTimestamp: Schema.optional(Schema.Unknown),
});

const RecordObject = Schema.Struct({ metadata: Metadata, data: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })) });
const DeploymentObject = Schema.Struct({ metadata: Metadata });
const Terminated = Schema.Struct({ exitCode: Schema.optional(Schema.Number), reason: Schema.optional(Schema.String), message: Schema.optional(Schema.String) });
const ContainerState = Schema.Struct({
  waiting: Schema.optional(Schema.Struct({ reason: Schema.optional(Schema.String), message: Schema.optional(Schema.String) })),
  running: Schema.optional(Schema.Unknown),
  terminated: Schema.optional(Terminated),
});
const ContainerStatus = Schema.Struct({
  name: Schema.String,
  ready: Schema.Boolean,
  restartCount: Schema.Number,
  state: Schema.optional(ContainerState),
  lastState: Schema.optional(ContainerState),
});
const PodObject = Schema.Struct({
  metadata: Metadata,
  spec: Schema.optional(Schema.Struct({ nodeName: Schema.optional(Schema.String) })),
  status: Schema.optional(
    Schema.Struct({
      phase: Schema.optional(Schema.String),
      hostIP: Schema.optional(Schema.String),
      podIP: Schema.optional(Schema.String),
      conditions: Schema.optional(Schema.Array(Schema.Struct({ type: Schema.String, status: Schema.String }))),
      containerStatuses: Schema.optional(Schema.Array(ContainerStatus)),
    }),
  ),
});

export interface ServerRecord {
  readonly name: string;
  readonly uid: string;
  readonly deleting: boolean;
  readonly spec: ServerSpec;
}
export interface ReplicaDeployment {
  readonly name: string;
  readonly serverId: string;
  readonly index: number;
  readonly deleting: boolean;
  readonly hostPorts?: { readonly http: number; readonly grpc: number; readonly metrics: number };
}
export type PodStatus = Schema.Schema.Type<typeof PodObject>;
export interface ReplicaPod {
  readonly name: string;
  readonly uid: string;
  readonly serverId: string;
  readonly index: number;
  readonly deleting: boolean;
  readonly created: string;
  readonly pod: PodStatus;
}

const decode = <A, I>(schema: Schema.Schema<A, I>, input: unknown): A | undefined =>
  Either.getOrUndefined(Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })(input));

const indexOf = (labels: Readonly<Record<string, string>> | undefined): number | undefined => {
  const raw = labels?.[LABEL_REPLICA];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
};

export function decodeRecord(input: unknown): ServerRecord | undefined {
  const o = decode(RecordObject, input);
  const json = o?.data?.[SPEC_KEY];
  if (o === undefined || json === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const spec = decode(ServerSpecSchema, parsed);
  return spec === undefined ? undefined : { name: o.metadata.name, uid: o.metadata.uid ?? "", deleting: o.metadata.deletionTimestamp !== undefined, spec };
}

export function decodeDeployment(input: unknown): ReplicaDeployment | undefined {
  const o = decode(DeploymentObject, input);
  const serverId = o?.metadata.labels?.[LABEL_SERVER_ID];
  const index = indexOf(o?.metadata.labels);
  if (o === undefined || serverId === undefined || index === undefined) return undefined;
  const hostPorts = parseHostPorts(o.metadata.annotations?.[ANNOTATION_HOST_PORTS]);
  return { name: o.metadata.name, serverId, index, deleting: o.metadata.deletionTimestamp !== undefined, ...(hostPorts !== undefined ? { hostPorts } : {}) };
}

export function decodePod(input: unknown): ReplicaPod | undefined {
  const o = decode(PodObject, input);
  const serverId = o?.metadata.labels?.[LABEL_SERVER_ID];
  const index = indexOf(o?.metadata.labels);
  if (o === undefined || serverId === undefined || index === undefined) return undefined;
  return { name: o.metadata.name, uid: o.metadata.uid ?? "", serverId, index, deleting: o.metadata.deletionTimestamp !== undefined, created: String(o.metadata.creationTimestamp ?? ""), pod: o };
}

/** Waiting reasons Kubernetes will not get past by itself. */
const PERMANENT_WAITING = new Set(["ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

export interface ObserveSettings {
  readonly network: "pod" | "host";
  readonly endpointHost?: string;
  readonly failAfterRestarts: number;
}

function failureOf(status: Schema.Schema.Type<typeof ContainerStatus>): ReplicaFailure | undefined {
  const waiting = status.state?.waiting;
  if (waiting?.reason !== undefined && PERMANENT_WAITING.has(waiting.reason)) {
    return { reason: "StartFailed", message: `${status.name}: ${waiting.reason}: ${waiting.message ?? ""}`.trim(), logTail: waiting.message ?? "" };
  }
  const last = status.state?.terminated ?? status.lastState?.terminated;
  if (last === undefined) return undefined;
  return {
    reason: "Crashed",
    message: `${status.name} exited${last.exitCode !== undefined ? ` with code ${last.exitCode}` : ""}${last.reason !== undefined ? ` (${last.reason})` : ""}`,
    logTail: last.message ?? "",
    ...(last.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
  };
}

/** One replica's state from its current pod (undefined: none yet). `replaced` counts pods it lost. */
export function observeReplica(spec: ServerSpec, index: number, deployment: ReplicaDeployment | undefined, pod: ReplicaPod | undefined, replaced: number, settings: ObserveSettings): ObservedReplica {
  const base = { replicaId: replicaId(spec.serverId, index), index, placement: placementOf(spec, index) };
  const statuses = pod?.pod.status?.containerStatuses ?? [];
  const restartCount = statuses.reduce((n, s) => n + s.restartCount, 0);
  const restarts = restartCount + replaced;
  const failures = statuses.map(failureOf).filter((f): f is ReplicaFailure => f !== undefined);
  const server = statuses.find((s) => s.name === SERVER_CONTAINER);
  const ready = pod !== undefined && !pod.deleting && (pod.pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  const permanent = failures.find((f) => f.reason === "StartFailed");
  const gaveUp = !ready && server !== undefined && server.restartCount >= settings.failAfterRestarts && failures.length > 0;
  const state: ReplicaState = ready ? "Ready" : permanent !== undefined || gaveUp ? "Failed" : restarts > 0 || pod?.deleting === true ? "Down" : "Starting";
  const lastError = permanent ?? failures[0] ?? (replaced > 0 ? { reason: "Crashed" as const, message: "the pod was replaced", logTail: "" } : undefined);
  const endpoints = endpointsOf(deployment, pod, settings);
  return {
    ...base,
    state: state === "Failed" && lastError === undefined ? "Down" : state,
    ...(endpoints !== undefined ? { endpoints } : {}),
    restarts,
    ...(lastError !== undefined ? { lastError: state === "Failed" && lastError.reason === "Crashed" ? { ...lastError, reason: "StartFailed" as const } : lastError } : {}),
  };
}

function endpointsOf(deployment: ReplicaDeployment | undefined, pod: ReplicaPod | undefined, settings: ObserveSettings): ObservedReplica["endpoints"] {
  if (settings.network === "host") {
    const ports = deployment?.hostPorts;
    const host = settings.endpointHost ?? pod?.pod.status?.hostIP;
    return ports === undefined || host === undefined ? undefined : { http: `${host}:${ports.http}`, grpc: `${host}:${ports.grpc}`, metrics: `${host}:${ports.metrics}` };
  }
  const ip = pod?.pod.status?.podIP;
  return ip === undefined ? undefined : { http: `${ip}:${POD_PORTS.http}`, grpc: `${ip}:${POD_PORTS.grpc}`, metrics: `${ip}:${POD_PORTS.metrics}` };
}

/** The pod that speaks for a replica: the newest one not being deleted, else the newest. */
export function currentPod(pods: readonly ReplicaPod[]): ReplicaPod | undefined {
  const sorted = [...pods].sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : a.name < b.name ? 1 : -1));
  return sorted.find((p) => !p.deleting) ?? sorted[0];
}

/**
 * A server as observed: the replicas wanted (index < desired) and those still present (a
 * Deployment or pods left from a scale-down), by index.
 */
export function observeServer(
  record: ServerRecord,
  deployments: readonly ReplicaDeployment[],
  pods: readonly ReplicaPod[],
  replacedPods: (replicaId: string) => number,
  settings: ObserveSettings,
  labels: Readonly<Record<string, string>>,
): ObservedServer {
  const spec = record.spec;
  const indices = new Set<number>();
  for (let i = 0; i < spec.replicas; i++) indices.add(i);
  for (const d of deployments) indices.add(d.index);
  for (const p of pods) indices.add(p.index);
  const replicas = [...indices]
    .sort((a, b) => a - b)
    .map((index) =>
      observeReplica(
        spec,
        index,
        deployments.find((d) => d.index === index),
        currentPod(pods.filter((p) => p.index === index)),
        replacedPods(replicaId(spec.serverId, index)),
        settings,
      ),
    );
  return { serverId: spec.serverId, image: spec.image, labels, desiredReplicas: spec.replicas, replicas };
}
