// What a backend sees of its servers. Observations are level-based (the whole current state of
// a server, never a delta), so a watcher that misses one loses nothing: the next carries all.
import { Stream } from "effect";
import type { ReplicaPlacement } from "./spec.js";

/**
 * Starting: created, not ready yet. Ready: answers `/v2/health/ready` (and its sidecar runs).
 * Down: was up, stopped; the backend is restarting it. Failed: will not be restarted by the
 * backend (crashed too often, cannot start); `failure` says why.
 */
export type ReplicaState = "Starting" | "Ready" | "Down" | "Failed";

/** "host:port" addresses of a replica's protocols, reachable from the control plane's host. */
export interface ReplicaEndpoints {
  readonly http: string;
  readonly grpc: string;
  readonly metrics?: string;
}

/** Why a replica went down or failed, with the end of its logs. */
export interface ReplicaFailure {
  /** NotReady: up but not ready in time. StartFailed: could not start, or exited before ready. Crashed: exited after it was ready. */
  readonly reason: "StartFailed" | "NotReady" | "Crashed";
  readonly message: string;
  readonly logTail: string;
  readonly exitCode?: number;
}

export interface ObservedReplica {
  readonly replicaId: string;
  readonly index: number;
  readonly state: ReplicaState;
  readonly placement: ReplicaPlacement;
  /** Present once the backend knows where the replica listens (it may not answer yet). */
  readonly endpoints?: ReplicaEndpoints;
  /** Times the backend restarted it after it went down. */
  readonly restarts: number;
  /** The latest reason it went down or failed (kept after it recovers, for `describe`). */
  readonly lastError?: ReplicaFailure;
}

export interface ObservedServer {
  readonly serverId: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Replicas asked for (the spec's, after scale). */
  readonly desiredReplicas: number;
  /** Replicas that exist, by index. */
  readonly replicas: readonly ObservedReplica[];
}

/** One item of `watch()`: a server's whole current state, or its disappearance. */
export type ServerObservation =
  | { readonly _tag: "Observed"; readonly server: ObservedServer }
  | { readonly _tag: "Gone"; readonly serverId: string };

export const readyReplicas = (server: ObservedServer): number => server.replicas.filter((r) => r.state === "Ready").length;

/**
 * The server's condition in the core's words (the `ServerObserved` event): Up while a replica
 * serves; Gone when every desired replica failed for good (nothing will bring it back); Down
 * otherwise (starting or restarting).
 */
export function serverCondition(server: ObservedServer): { readonly state: "Up" | "Down" | "Gone"; readonly readyReplicas: number } {
  const ready = readyReplicas(server);
  if (ready > 0) return { state: "Up", readyReplicas: ready };
  const failed = server.replicas.filter((r) => r.state === "Failed").length;
  return { state: server.desiredReplicas > 0 && failed >= server.desiredReplicas ? "Gone" : "Down", readyReplicas: 0 };
}

/**
 * The observations that turn `before` into `after`: servers new or changed (structurally),
 * and servers gone. A watch built on a stream of whole states emits these.
 */
export function diffObservations(before: ReadonlyMap<string, ObservedServer>, after: ReadonlyMap<string, ObservedServer>): ServerObservation[] {
  const out: ServerObservation[] = [];
  for (const [id, server] of after) {
    const old = before.get(id);
    if (old === undefined || !sameObservation(old, server)) out.push({ _tag: "Observed", server });
  }
  for (const id of before.keys()) if (!after.has(id)) out.push({ _tag: "Gone", serverId: id });
  return out;
}

function sameObservation(a: ObservedServer, b: ObservedServer): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** A watch stream from a stream of whole states (the first state is reported in full). */
export function watchFromStates<E>(states: Stream.Stream<ReadonlyMap<string, ObservedServer>, E>): Stream.Stream<ServerObservation, E> {
  return states.pipe(
    Stream.mapAccum(new Map<string, ObservedServer>() as ReadonlyMap<string, ObservedServer>, (before, after) => [after, diffObservations(before, after)]),
    Stream.flattenIterables,
  );
}

