import type { Bytes, DurationMs, MilliCpu, MilliGpu } from "../units.js";

// The decoded (validated, normalised) shapes of what users ask for. The Schemas in this
// folder decode user input (`"4Gi"`, `"30m"`) into exactly these types; everything after
// validation (decide, placement, the control plane) works on these.

/** A model in a repository: `name`, optional version, repository name. */
export interface ModelRef {
  readonly name: string;
  readonly version?: number;
  readonly repository: string;
}

export interface Resources {
  /** GPU memory per replica, summed over the lease's models (declared; measured replaces it later). */
  readonly gpuMemory: Bytes;
  /** Whole GPUs per replica (0 when the lease shares a GPU). */
  readonly gpus: number;
  /** Share of one GPU's compute when `gpus` is 0 (0 = memory is the only constraint). */
  readonly gpuMilli: MilliGpu;
  readonly cpu: MilliCpu;
  readonly memory: Bytes;
  /** Allowed GPU models; empty means any. */
  readonly gpuModels: readonly string[];
}

export interface RenewalSpec {
  /** Renew automatically while the lease sees activity within `activityWindow`. */
  readonly enabled: boolean;
  readonly activityWindow: DurationMs;
}

export type AutoscalerPolicyName = "hpa" | "berth";

/**
 * Who scales an autoscaled bespoke lease: "builtin", berthd's autoscaler (the core, on `policy`);
 * "hpa", the backend's own (a Kubernetes HorizontalPodAutoscaler on the lease's metric), whose
 * replica counts the core applies within [minReplicas, maxReplicas] and what fits. A backend
 * without one falls back to builtin.
 */
export type AutoscalingMode = "builtin" | "hpa";

export interface AutoscalingSpec {
  /** Metric name, e.g. `queue_time` (ms), `inflight`, `rps`. */
  readonly metric: string;
  /** Target value per replica, in the metric's unit. */
  readonly target: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly policy: AutoscalerPolicyName;
  /** Absent: the backend's default (`hpa` on Kubernetes, `builtin` elsewhere). */
  readonly mode?: AutoscalingMode;
}

/** Where a lease runs: a server made for it, or a shared pool with a quota. */
export type Where =
  | { readonly kind: "bespoke" }
  | { readonly kind: "pool"; readonly pool: string; readonly quota: Bytes };

export interface ColocationRules {
  /** Lease names this lease must share a server with. */
  readonly with: readonly string[];
  /** Lease names this lease must never share a server with. */
  readonly notWith: readonly string[];
}

export interface LeaseSpec {
  readonly name: string;
  readonly tenant: string;
  readonly models: readonly ModelRef[];
  readonly where: Where;
  readonly resources: Resources;
  /** Server image (must be on the allowlist); empty means the configured default. */
  readonly image: string;
  readonly minDuration: DurationMs;
  readonly renewal: RenewalSpec;
  readonly autoscaling?: AutoscalingSpec;
  readonly colocation: ColocationRules;
  readonly labels: Readonly<Record<string, string>>;
}

/** Resources of one server instance. */
export interface ServerTemplate {
  readonly image: string;
  readonly resources: Resources;
  /** Group (framework family) of the models it may host; decided by model platform. */
  readonly group: string;
}

export interface PoolSpec {
  readonly name: string;
  readonly template: ServerTemplate;
  readonly minInstances: number;
  readonly maxInstances: number;
  /** GPU memory each lease may take per instance, at most. */
  readonly quotaPerInstance: Bytes;
}
