// Units used across the core. Plain numbers keep the hot paths allocation-free; the aliases
// say what a number measures.

/** Bytes (memory, GPU memory, model size). */
export type Bytes = number;
/** Thousandths of a CPU core, as Kubernetes writes `500m`. */
export type MilliCpu = number;
/** Thousandths of one GPU (1000 = a whole GPU), as the openb trace writes `gpu_milli`. */
export type MilliGpu = number;
/** Milliseconds since the Unix epoch: the only notion of "now" the core knows, always handed in. */
export type EpochMs = number;
/** A span of time in milliseconds. */
export type DurationMs = number;

export const MILLI_PER_GPU: MilliGpu = 1000;
export const MiB: Bytes = 1024 * 1024;
export const GiB: Bytes = 1024 * MiB;
