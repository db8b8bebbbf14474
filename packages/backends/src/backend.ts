// The Backend plugin API: what makes servers real (local processes, Docker, Kubernetes, the
// simulator). The control plane's executor turns the core's server intents into these calls
// and the observations back into `ServerObserved` events. README.md has the full semantics.
import { Context, type Effect, type Stream } from "effect";
import type { BackendError } from "./errors.js";
import type { ObservedServer, ServerObservation } from "./observation.js";
import type { ReplicaPlacement, ServerSpec } from "./spec.js";

export interface BackendCapabilities {
  /** The backend honours GPU indices (CUDA_VISIBLE_DEVICES, device requests, device plugins). */
  readonly gpus: boolean;
  /**
   * What `image` means here: "oci" (a container image reference), "process" (a name the
   * backend maps to a command line; any unknown name runs its default server).
   */
  readonly images: "oci" | "process";
  /**
   * A new instance of the backend over the same state (a restarted control plane) finds the
   * servers that run and adopts them, instead of starting duplicates or losing track of them.
   */
  readonly adoption: boolean;
  /** Replicas may run on several nodes ("many") or only on the backend's own machine ("one"). */
  readonly nodes: "one" | "many";
}

/**
 * Routing of leases by name, for backends whose platform has it (Kubernetes: a Service per lease
 * selecting the pods that hold the lease). Optional: the process, docker and sim backends have
 * none, and berthd then routes through its own API and the router only.
 */
/** What a backend's own autoscaler needs of one bespoke lease (its spec's autoscaling). */
export interface LeaseAutoscalerSpec {
  readonly leaseName: string;
  readonly serverId: string;
  /** Metric name (`queue_time`) and target value per replica, in the metric's unit. */
  readonly metric: string;
  readonly target: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

/**
 * A backend's own autoscaler for bespoke leases (`hpa` mode; Kubernetes: a HorizontalPodAutoscaler
 * whose scale target is the server's BerthServer). It decides a replica count; berthd reports it
 * to the core (ServerObserved.scaledTo), which applies it within bounds and capacity, and the
 * backend's `scale` acts as for any other resize.
 */
export interface BackendAutoscalerShape {
  /** The mode of a lease whose spec names none. */
  readonly defaultMode: "hpa" | "builtin";
  /** Creates or updates the lease's autoscaler and its server's scale target (made at `replicas` when absent). */
  ensureLeaseAutoscaler(spec: LeaseAutoscalerSpec, replicas: number): Effect.Effect<void, BackendError>;
  /**
   * Tells the scale target the server's current replica count and returns the count the
   * autoscaler asks for (undefined when the target is gone).
   */
  syncScaleTarget(serverId: string, replicas: number): Effect.Effect<number | undefined, BackendError>;
  /** Removes the lease's autoscaler; an absent one succeeds. */
  deleteLeaseAutoscaler(leaseName: string): Effect.Effect<void, BackendError>;
}

export interface LeaseRoutingShape {
  /**
   * Who scales an autoscaled bespoke lease's server: "builtin", berthd's own autoscaler (the core
   * decides, the backend's `scale` acts). Leases in `hpa` mode go to `autoscaler` where it exists.
   */
  readonly autoscaling: "builtin";
  /** Creates or updates the lease's route, tied to the servers that may hold the lease (they own it). */
  ensureLeaseRoute(leaseName: string, serverIds: readonly string[]): Effect.Effect<void, BackendError>;
  /** Removes the lease's route; an absent one succeeds. */
  deleteLeaseRoute(leaseName: string): Effect.Effect<void, BackendError>;
  /** Names of the leases that have a route now (to remove what a previous berthd left). */
  leaseRoutes(): Effect.Effect<readonly string[], BackendError>;
  /**
   * Puts replica `index` of the server in the lease's route (its models are loaded there) or takes
   * it out. A replica whose pod or process was replaced starts out: call it again for the new one.
   */
  setLeaseMember(serverId: string, index: number, leaseName: string, member: boolean): Effect.Effect<void, BackendError>;
  /** The backend's own autoscaler (`hpa` mode), where it has one; absent: berthd scales (`builtin`). */
  readonly autoscaler?: BackendAutoscalerShape;
}

export interface BackendShape {
  /** The registry name (`process`, `docker`, `kubernetes`); errors carry it. */
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /**
   * Create the server, or converge an existing one to `spec` (replica count, and for replicas
   * it has to create, their placement). Idempotent: the same spec twice is one server with
   * `spec.replicas` replicas. Returns without waiting for readiness; observe for that.
   * Fails with InvalidSpec or ImageNotFound before creating anything.
   */
  ensureServer(spec: ServerSpec): Effect.Effect<ObservedServer, BackendError>;
  /**
   * Set the replica count (highest indices go first when scaling down). `placements` gives the
   * placement of replicas by index, replacing the spec's. NotFound for an unknown server.
   */
  scale(serverId: string, replicas: number, placements?: readonly ReplicaPlacement[]): Effect.Effect<ObservedServer, BackendError>;
  /** Stop and remove the server and all its replicas. Idempotent: an unknown id succeeds. */
  deleteServer(serverId: string): Effect.Effect<void, BackendError>;
  /** Every server this backend manages, as observed now. */
  list(): Effect.Effect<readonly ObservedServer[], BackendError>;
  /** The whole current state of every server first, then each change as it happens. */
  watch(): Stream.Stream<ServerObservation, BackendError>;
  /** Lease routing by name, where the platform has it (Kubernetes Services); absent elsewhere. */
  readonly leaseRouting?: LeaseRoutingShape;
}

export class Backend extends Context.Tag("@berth/backends/Backend")<Backend, BackendShape>() {}
