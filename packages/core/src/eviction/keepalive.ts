// Keep-alive policies: how long a model set stays warm after its last use. Separate from
// eviction (which chooses victims when memory is needed): a keep-alive policy decides when a
// lease's warm models expire on their own.
//
// Windows are measured from the end of the last use:
// - prewarm = 0: the models stay loaded until `keepAlive` after the last use;
// - prewarm > 0: they are unloaded right after the use, loaded again at `prewarm`, and kept
//   until `keepAlive` (Shahrad et al.'s pre-warming, where keepAlive > prewarm);
// - prewarm > warmFor > 0: as above, but they stay warm until `warmFor` before unloading
//   (Berth's plans: keep through the short gaps, pre-warm for the long ones);
// - keepAlive = Infinity: they stay warm until memory is needed and eviction picks them.
import type { Bytes, DurationMs, EpochMs } from "../units.js";
import type { FleetGaps } from "./fleet-gaps.js";
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
  /** When each of `idleGaps` began (aligned with it), for policies that follow the clock. */
  readonly idleStarts?: readonly EpochMs[];
  /** When the idle period being planned began (the end of the last use). */
  readonly idleSince?: EpochMs;
  /** The fleet's shared GPU memory and how often it ran short, for policies that price it (absent: unknown). */
  readonly pressure?: MemoryPressure;
  /**
   * Every lease's gaps, kept by the caller, for policies with a fleet prior: the pooled Berth
   * policy uses these instead of the gaps its instance has seen (absent: it pools those).
   */
  readonly fleet?: FleetGaps;
}

/** The fleet's shared GPU memory and how often it ran short. */
export interface MemoryPressure {
  /** GPU memory the leases share. */
  readonly budget: Bytes;
  /** Leases unloaded to make room while their keep-alive still held them, so far (a running count that only grows). */
  readonly evictions: number;
  /**
   * When those evictions happened, ascending, at least as far back as the policy's pressure
   * window: a policy then counts the evictions of its window from these alone, keeping no count
   * across calls (decide's only state is its snapshot). Absent: it tracks `evictions` itself.
   */
  readonly evictionTimes?: readonly EpochMs[];
  /** When the pressure is read (absent: the idle period's start, `idleSince`). */
  readonly at?: EpochMs;
}

/** Which rule produced the windows, as data (for explanations and experiment reports). */
export type KeepAliveMode = "Fixed" | "Histogram" | "Uncertain" | "OutOfBounds" | "CostOptimal" | "NoHistory" | "UntilNeeded" | "Prewarm";

export interface KeepAliveWindows {
  readonly prewarm: DurationMs;
  /** With a pre-warm: stay warm this long after the use before unloading (absent: 0). */
  readonly warmFor?: DurationMs;
  readonly keepAlive: DurationMs;
  readonly mode: KeepAliveMode;
}

export interface KeepAlivePolicy {
  readonly name: string;
  windows(input: KeepAliveInput): KeepAliveWindows;
}

export const MINUTE: DurationMs = 60_000;
export const HOUR: DurationMs = 60 * MINUTE;
