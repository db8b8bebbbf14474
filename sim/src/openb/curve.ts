// The allocation-ratio curve of the FGD paper: after every arrival the simulator records
// (arrived GPU request, allocated GPU), both as a percent of cluster GPU capacity; the curve's
// value at integer x is the mean of the allocation ratios recorded while the arrived request
// rounded to x (the artifact's `merge_alloc_discrete` step, which falls back to the window
// x-1..x+1 when no arrival rounded to x exactly).
export const CURVE_MAX_PERCENT = 130;

export interface AllocationSample {
  /** Arrived GPU request, percent of capacity. */
  readonly arrived: number;
  /** Allocated GPU, percent of capacity. */
  readonly allocated: number;
}

/** Values at 0..maxPercent; NaN where no sample falls within one percent. */
export const discretiseCurve = (samples: readonly AllocationSample[], maxPercent = CURVE_MAX_PERCENT): number[] => {
  const sum = new Float64Array(maxPercent + 1);
  const count = new Float64Array(maxPercent + 1);
  for (const s of samples) {
    const x = Math.round(s.arrived);
    if (x >= 0 && x <= maxPercent) {
      sum[x] += s.allocated;
      count[x] += 1;
    }
  }
  return Array.from({ length: maxPercent + 1 }, (_, x) => {
    if (count[x] > 0) return sum[x] / count[x];
    let s = 0;
    let c = 0;
    for (let y = Math.max(0, x - 1); y <= Math.min(maxPercent, x + 1); y++) {
      s += sum[y];
      c += count[y];
    }
    return c > 0 ? s / c : Number.NaN;
  });
};

/** Point-wise mean of several curves of the same length, ignoring NaN entries. */
export const meanCurve = (curves: readonly (readonly number[])[]): number[] => {
  if (curves.length === 0) return [];
  return curves[0].map((_, x) => {
    let s = 0;
    let c = 0;
    for (const curve of curves) {
      if (!Number.isNaN(curve[x])) {
        s += curve[x];
        c += 1;
      }
    }
    return c > 0 ? s / c : Number.NaN;
  });
};
