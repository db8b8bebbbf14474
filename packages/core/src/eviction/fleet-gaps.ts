// The fleet's idle gaps as plain data, for the pooled keep-alive prior when the caller keeps no
// policy instance across calls (decide keeps its state in the snapshot, a JSON value).
//
// It holds what GapProfile needs, bounded by its grid rather than by the number of gaps:
// - short gaps (<= `shiftAbove`): GapProfile only asks which hour of day they began in, so
//   one weight and sum per (hour, bin) is exact;
// - long gaps: GapProfile shifts each by its start's exact time of day; here the start is kept
//   to the minute and the gap by bin (weight and sum), so at most 1440 x bins entries.
//   A long gap is hours, so a minute moves its shifted value by under 1%, inside the 5% bins.
import type { DurationMs, EpochMs } from "../units.js";
import { gapBin, GapProfile } from "./gap-profile.js";
import { DAY } from "./keepalive-time-of-day.js";

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** [slot of day (hour for short gaps, minute for long ones), bin, weight, weighted sum]. */
export type GapCell = readonly [slot: number, bin: number, weight: number, sum: number];

export interface FleetGaps {
  /** Gaps longer than this are long (the pooled policy's `timeOfDayShiftAbove`). */
  readonly shiftAbove: DurationMs;
  /** Short gaps by hour of start and bin, ordered by (slot, bin). */
  readonly short: readonly GapCell[];
  /** Long gaps by minute of start and bin, ordered by (slot, bin). */
  readonly long: readonly GapCell[];
}

export const emptyFleetGaps = (shiftAbove: DurationMs): FleetGaps => ({ shiftAbove, short: [], long: [] });

const timeOfDay = (t: EpochMs): number => ((t % DAY) + DAY) % DAY;

/** `cells` with `gap` added to cell (slot, bin): a new array, `cells` untouched. */
const withGap = (cells: readonly GapCell[], slot: number, bin: number, gap: DurationMs): GapCell[] => {
  let lo = 0, hi = cells.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = cells[mid];
    if (c[0] < slot || (c[0] === slot && c[1] < bin)) lo = mid + 1;
    else hi = mid;
  }
  const out = cells.slice();
  const at = cells[lo];
  if (at !== undefined && at[0] === slot && at[1] === bin) out[lo] = [slot, bin, at[2] + 1, at[3] + gap];
  else out.splice(lo, 0, [slot, bin, 1, gap]);
  return out;
};

/** `fleet` with the gap of length `gap` that began at `start` added (a new value). */
export const addFleetGap = (fleet: FleetGaps, start: EpochMs, gap: DurationMs): FleetGaps => {
  const g = Math.max(0, gap);
  const tod = timeOfDay(start);
  if (g > fleet.shiftAbove) {
    // Floored, not rounded: the start stays in its hour, so the same windows of hours hold it.
    const minute = Math.floor(tod / MINUTE_MS);
    return { ...fleet, long: withGap(fleet.long, minute, gapBin(g), g) };
  }
  return { ...fleet, short: withGap(fleet.short, Math.floor(tod / HOUR_MS), gapBin(g), g) };
};

/** The GapProfile (time-of-day threshold `shiftAbove`) of the gaps in `fleet`. */
export const fleetProfile = (fleet: FleetGaps, shiftAbove: DurationMs): GapProfile => {
  const profile = new GapProfile(shiftAbove);
  // Each cell enters as one gap of its mean, weighted by its count: the mean stays in its bin.
  for (const [hour, , weight, sum] of fleet.short) profile.add(hour * HOUR_MS, sum / weight, weight);
  for (const [minute, , weight, sum] of fleet.long) profile.add(minute * MINUTE_MS, sum / weight, weight);
  return profile;
};
