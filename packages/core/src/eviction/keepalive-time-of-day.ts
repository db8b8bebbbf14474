// Idle gaps conditioned on the time of day. Inference traffic follows the clock: a model that
// goes idle at the start of the nightly lull stays idle for hours and comes back when its users
// do, while one that goes idle at noon is back within minutes. So the gaps that predict the
// coming one best are those that began at about the same time of day: their distribution puts
// the overnight silences at the lengths that end at the usual hour of return, which is what
// lets Berth's plan pre-warm for them (keepalive-plan.ts) instead of holding memory through them.
// Learned online: only gaps that have ended are in the history.
import type { DurationMs, EpochMs } from "../units.js";

export const DAY: DurationMs = 24 * 60 * 60_000;

/** Distance between two instants' times of day, on the circle of one day (0 .. DAY / 2). */
export const timeOfDayDistance = (a: EpochMs, b: EpochMs, day: DurationMs = DAY): DurationMs => {
  const d = (((a - b) % day) + day) % day;
  return Math.min(d, day - d);
};

/** Signed offset from `b`'s time of day to `a`'s, in (-DAY / 2, DAY / 2]. */
export const timeOfDayOffset = (a: EpochMs, b: EpochMs, day: DurationMs = DAY): DurationMs => {
  const d = (((a - b) % day) + day) % day;
  return d > day / 2 ? d - day : d;
};

/**
 * The gaps (newest last) that began within `halfWindow` of `since`'s time of day.
 * `starts[i]` is when `gaps[i]` began. Gaps longer than `shiftAbove` are moved to end at the
 * same time of day as they did: a lull ends when the users come back, whatever time it began,
 * so what a long gap tells about this one is its hour of return.
 */
export const gapsNearTimeOfDay = (
  gaps: readonly DurationMs[],
  starts: readonly EpochMs[],
  since: EpochMs,
  halfWindow: DurationMs,
  shiftAbove: DurationMs = Infinity,
  day: DurationMs = DAY,
): DurationMs[] => {
  if (starts.length !== gaps.length) throw new RangeError(`${starts.length} gap starts for ${gaps.length} gaps`);
  const out: DurationMs[] = [];
  for (let i = 0; i < gaps.length; i++) {
    const offset = timeOfDayOffset(starts[i], since, day);
    if (Math.abs(offset) > halfWindow) continue;
    out.push(gaps[i] > shiftAbove ? Math.max(0, gaps[i] + offset) : gaps[i]);
  }
  return out;
};

