// Keep-alive policies: how long a model set stays warm after its last use. Separate from
// eviction (which chooses victims when memory is needed): a keep-alive policy decides when a
// lease's warm models expire on their own.
//
// Windows are measured from the end of the last use:
// - prewarm = 0: the models stay loaded until `keepAlive` after the last use;
// - prewarm > 0: they are unloaded right after the use, loaded again at `prewarm`, and kept
//   until `keepAlive` (Shahrad et al.'s pre-warming, where keepAlive > prewarm);
// - keepAlive = Infinity: they stay warm until memory is needed and eviction picks them.
import type { Bytes, DurationMs } from "../units.js";
import type { IdleHistogram } from "./idle-histogram.js";

export interface KeepAliveInput {
  /** Idle times between the end of one use and the next request, newest last. */
  readonly idleGaps: readonly DurationMs[];
  /** The same idle times in ascending order, when the caller keeps them so (saves a sort per call). */
  readonly sortedGaps?: readonly DurationMs[];
  /** Range-limited histogram of all idle times, kept by the caller (built from idleGaps when absent). */
  readonly histogram?: IdleHistogram;
  /** Expected time to load the models again. */
  readonly loadTime: DurationMs;
  /** GPU memory the models hold while warm. */
  readonly size: Bytes;
}

/** Which rule produced the windows, as data (for explanations and experiment reports). */
export type KeepAliveMode = "Fixed" | "Histogram" | "Uncertain" | "OutOfBounds" | "CostOptimal" | "NoHistory" | "UntilNeeded";

export interface KeepAliveWindows {
  readonly prewarm: DurationMs;
  readonly keepAlive: DurationMs;
  readonly mode: KeepAliveMode;
}

export interface KeepAlivePolicy {
  readonly name: string;
  windows(input: KeepAliveInput): KeepAliveWindows;
}

export const MINUTE: DurationMs = 60_000;
export const HOUR: DurationMs = 60 * MINUTE;
