import { GiB, type Bytes, type DurationMs, type MilliCpu } from "../units.js";

// Every default and limit a spec gets when the user leaves a field out, in one place (the
// README's table is written from this file; keep them in step).

/** Owner of a lease that names no tenant. */
export const DEFAULT_TENANT = "default";
/** Empty image: the control plane's configured default server image. */
export const DEFAULT_IMAGE = "";
/** A lease is held at least this long after it becomes Ready. */
export const DEFAULT_MIN_DURATION: DurationMs = 30 * 60_000;
/** Renewal is on by default: a lease in use is not taken away. */
export const DEFAULT_RENEWAL_ENABLED = true;
/** Activity within this window keeps renewing a lease. */
export const DEFAULT_ACTIVITY_WINDOW: DurationMs = 5 * 60_000;
/** Shortest activity window accepted when renewal is on (shorter windows renew on noise). */
export const MIN_ACTIVITY_WINDOW: DurationMs = 1000;

/** CPU and memory of a replica (lease) or instance (pool template) when not given: Triton's modest footprint. */
export const DEFAULT_CPU: MilliCpu = 1000;
export const DEFAULT_MEMORY: Bytes = 2 * GiB;
/** A lease shares a GPU by default (0 whole GPUs, 0 compute share: GPU memory is the only constraint), so Berth can pack. */
export const DEFAULT_LEASE_GPUS = 0;
/** A pool instance owns one whole GPU by default. */
export const DEFAULT_TEMPLATE_GPUS = 1;
export const DEFAULT_GPU_MILLI = 0;

/** Autoscaling: at least one replica; the HPA algorithm unless another policy is named. */
export const DEFAULT_MIN_REPLICAS = 1;
export const DEFAULT_AUTOSCALER_POLICY = "hpa" as const;
/** A sane cap on replicas of one lease and instances of one pool (a typo like 1000 is caught). */
export const MAX_REPLICAS = 64;
export const MAX_INSTANCES = 64;
/** Whole GPUs of one replica or instance: the largest nodes carry 16. */
export const MAX_GPUS = 16;
/** Models in one lease. */
export const MAX_MODELS = 64;

/** Pool instances: one kept warm by default; maxInstances defaults to minInstances (a fixed-size pool). */
export const DEFAULT_MIN_INSTANCES = 1;
/** Empty group: the pool takes the group of the models it hosts. */
export const DEFAULT_GROUP = "";
