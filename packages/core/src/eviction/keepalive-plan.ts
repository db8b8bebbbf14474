// The cheapest unload / pre-warm plan for one idle period, over an empirical distribution of
// idle gaps (Berth's keep-alive; keepalive-berth.ts chooses which gaps count).
//
// A plan, measured from the end of the last use:
//   - warm on [0, U];
//   - unloaded on (U, S), S = P - lead: the pre-warm load starts at S so the model is warm by P;
//   - warm on [S, E], then unloaded until the next request.
// With G the next gap, a gap G <= U is warm throughout; U < G < P is a cold start (when the
// request lands during the pre-warm load it still waits, so it counts as cold, and the memory
// of the load from S is paid too); P <= G <= E is caught by the pre-warm; G > E is cold again.
// A plain keep-alive T is the plan without a pre-warm (U = E = T). Expected cost, per gap:
//   hold x (GPU memory time held)  +  loadPenalty x [cold]
// with hold = price x size.
//
// Why this is cheap to optimise exactly: write
//   A(T) = hold x (sum_{G<=T} G + T x #(G>T)) + loadPenalty x #(G>T),
// the (unnormalised) cost of a plain keep-alive T. Summing the cases above gives, for U < S <= P <= E,
//   cost(U, P, E) = A(U) + A(E) + C(P),
//   C(P) = -loadPenalty x #(G>=P) - hold x sum_{G<P} G - hold x S x #(G>=P) + hold x sum_{S<G<P} (G - S).
// A is piecewise linear and non-decreasing between observed gaps, and C is decreasing between
// them, so U and E lie in {0} U gaps and P in gaps; for each P the best U is a prefix minimum of
// A (over U < S) and the best E a suffix minimum (over E >= P). Sorting dominates: O(n log n).
import type { DurationMs } from "../units.js";

export interface KeepAlivePlan {
  /** Warm after the use until this long (U). */
  readonly warmFor: DurationMs;
  /** When the pre-warm load starts (S = P - lead); equals warmFor when there is no pre-warm. */
  readonly prewarmAt: DurationMs;
  /** Unloaded after this long (E). */
  readonly warmUntil: DurationMs;
  /** Expected cost per idle period (in load-time units). */
  readonly cost: number;
}

export interface PlanCostModel {
  /** Cost of holding the model's memory for one millisecond. */
  readonly hold: number;
  /** Cost of one cold start. */
  readonly loadPenalty: number;
  /** How long before P the pre-warm load starts. */
  readonly lead: DurationMs;
  /** No window (U or E) beyond this. */
  readonly maxWarm: DurationMs;
  /** When set, U is this (chosen elsewhere) and only the pre-warm (P, E) is optimised. */
  readonly warmFor?: DurationMs;
}

/** Cost of `plan` for one gap, straight from the definition (the reference the optimiser must match). */
export const planCostForGap = (gap: DurationMs, warmFor: DurationMs, prewarmAt: DurationMs, warmUntil: DurationMs, m: PlanCostModel): number => {
  const prewarm = prewarmAt > warmFor;
  const ready = prewarm ? prewarmAt + m.lead : warmFor;
  if (gap <= warmFor) return m.hold * gap;
  if (!prewarm) return m.hold * warmUntil + m.loadPenalty;
  if (gap < ready) return m.hold * (warmFor + Math.max(0, gap - prewarmAt)) + m.loadPenalty;
  if (gap <= warmUntil) return m.hold * (warmFor + gap - prewarmAt);
  return m.hold * (warmFor + warmUntil - prewarmAt) + m.loadPenalty;
};

/** Index of the first element of `sorted` greater than `x`. */
const upperBound = (sorted: readonly number[], x: number): number => {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/** Index of the first element of `sorted` not less than `x`. */
const lowerBound = (sorted: readonly number[], x: number): number => {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/**
 * The plan of least expected cost over `sorted` (ascending, non-negative gaps), equally likely
 * or with the given `weights` (probabilities up to a common factor).
 * Ties go to the plain keep-alive, then to the shorter windows. Empty input: unload at once.
 */
export const optimalPlan = (sorted: readonly DurationMs[], m: PlanCostModel, weights?: readonly number[]): KeepAlivePlan => {
  if (weights !== undefined && weights.length !== sorted.length) throw new RangeError(`${weights.length} weights for ${sorted.length} gaps`);
  // With weights, every count below is a sum of weights ("n" the total) and every sum of gaps weighted.
  const count = new Float64Array(sorted.length + 1);
  const prefix = new Float64Array(sorted.length + 1);
  for (let i = 0; i < sorted.length; i++) {
    const w = weights === undefined ? 1 : weights[i];
    count[i + 1] = count[i] + w;
    prefix[i + 1] = prefix[i] + w * sorted[i];
  }
  const n = count[sorted.length];
  if (sorted.length === 0 || !(n > 0)) return { warmFor: 0, prewarmAt: 0, warmUntil: 0, cost: 0 };
  const len = sorted.length;
  const above = (k: number) => n - count[k]; // weight of the gaps at index k and beyond
  // a[i + 1] = A(sorted[i]) evaluated as if sorted[i] were the last of its run; a[0] = A(0).
  // Inside a run of equal gaps this overstates A (the rest of the run counts as cold), so the
  // minima below still land on true values.
  const a = new Float64Array(len + 1);
  a[0] = m.loadPenalty * above(upperBound(sorted, 0));
  for (let i = 0; i < len; i++) {
    const t = sorted[i];
    a[i + 1] = t > m.maxWarm ? Infinity : m.hold * (prefix[i + 1] + t * above(i + 1)) + m.loadPenalty * above(i + 1);
  }
  const at = (k: number) => (k === 0 ? 0 : sorted[k - 1]);

  const fixedU = m.warmFor;
  const aFixed = (u: DurationMs): number => {
    const k = upperBound(sorted, u);
    return m.hold * (prefix[k] + u * above(k)) + m.loadPenalty * above(k);
  };
  let best: KeepAlivePlan;
  if (fixedU !== undefined) best = { warmFor: fixedU, prewarmAt: fixedU, warmUntil: fixedU, cost: aFixed(fixedU) };
  else {
    best = { warmFor: 0, prewarmAt: 0, warmUntil: 0, cost: a[0] };
    for (let k = 1; k <= len; k++) {
      if (a[k] < best.cost) best = { warmFor: at(k), prewarmAt: at(k), warmUntil: at(k), cost: a[k] };
    }
  }

  // prefixMin[k]: index in 0..k of the least a (the earliest on ties).
  const prefixMin = new Int32Array(len + 1);
  for (let k = 1; k <= len; k++) prefixMin[k] = a[k] < a[prefixMin[k - 1]] ? k : prefixMin[k - 1];
  // suffixMin[k]: index in k..n of the least a (the earliest on ties).
  const suffixMin = new Int32Array(len + 2);
  suffixMin[len] = len;
  for (let k = len - 1; k >= 1; k--) suffixMin[k] = a[k] <= a[suffixMin[k + 1]] ? k : suffixMin[k + 1];

  for (let j = 0; j < len; j++) {
    if (j > 0 && sorted[j - 1] === sorted[j]) continue; // P at the first of a run: #(G >= P) = above(j)
    const p = sorted[j];
    const s = p - m.lead;
    if (s <= (fixedU ?? 0)) continue;
    // U in {0} U {gaps < S}: candidates k with at(k) < S are k = 0 .. lowerBound(S).
    const u = prefixMin[lowerBound(sorted, s)];
    const uCost = fixedU !== undefined ? aFixed(fixedU) : a[u];
    // E in gaps >= P: candidates k = j + 1 .. n.
    const e = suffixMin[j + 1];
    if (!Number.isFinite(uCost) || !Number.isFinite(a[e])) continue;
    const first = upperBound(sorted, s); // gaps in (S, P) are indices first .. j - 1
    const partial = first < j ? prefix[j] - prefix[first] - s * (count[j] - count[first]) : 0;
    const c = -m.loadPenalty * above(j) - m.hold * prefix[j] - m.hold * s * above(j) + m.hold * partial;
    const cost = uCost + a[e] + c;
    if (cost < best.cost - 1e-9 * Math.abs(best.cost)) best = { warmFor: fixedU ?? at(u), prewarmAt: s, warmUntil: at(e), cost };
  }
  return { ...best, cost: best.cost / n };
};
