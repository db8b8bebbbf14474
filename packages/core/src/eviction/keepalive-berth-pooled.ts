// Berth's keep-alive, learned online with a pooled prior over the fleet (empirical Bayes).
//
// A lease used a handful of times has a handful of gaps: too few to tell whether a 2 h lull is
// usual for it, so a plan fitted to them alone drops it early and pays a cold start when its
// users come back. Most leases on a fleet are like that. So each lease's gap distribution is
// estimated as a mixture of its own gaps and the fleet's (every lease's gaps seen so far),
//
//   P_lease(G) = n / (n + k) x own(G)  +  k / (n + k) x fleet(G),
//
// with n the lease's own gaps (those near this time of day, as in keepalive-berth.ts) and k
// the prior's weight in gaps (`fleetPrior`). A sparse lease inherits the fleet's long tail;
// a lease with hundreds of gaps is its own. The prior never weighs more gaps than the rest of
// the fleet has shown, so the first leases are not planned from an empty fleet. Tuned once on
// seed 42 at 640 GiB (sim/results/keepalive.md): k = 10.
//
// The plan is then chosen as in berthWindows (U, then the pre-warm, both from the gaps near
// this time of day, here weighted by how near: `timeOfDayTaper`; keepalive-plan.ts), on the
// binned summaries of gap-profile.ts, so a decision costs O(bins + long gaps) instead of
// sorting the lease's history.
//
// State: the policy learns from the histories it is handed. A caller hands each lease's
// history as one array that only grows (the simulator and the lease store both do); a policy
// instance keys its per-lease summary by that array and ingests only the new gaps, and every
// gap ingested joins the fleet. Decisions are deterministic given the sequence of calls.
// Every gap is kept (in bins), so `historyLimit` does not apply here; without gap starts or
// the idle period's start, it falls back to the exact berthWindows. A caller that keeps no
// instance across calls (decide) hands the fleet's gaps in (`KeepAliveInput.fleet`, which
// should hold this lease's gaps too, as the instance's fleet does); then they stand in for
// the instance's.
import { HOUR, type KeepAliveInput, type KeepAlivePolicy, type KeepAliveWindows } from "./keepalive.js";
import { BERTH_KEEPALIVE, berthWindows, defaultBerthKeepAliveOptions, memoryPrice, type BerthKeepAliveOptions } from "./keepalive-berth.js";
import { optimalPlan } from "./keepalive-plan.js";
import { fleetProfile } from "./fleet-gaps.js";
import { addBinned, binnedSupport, emptyBinnedGaps, GapProfile, type BinnedGaps } from "./gap-profile.js";
import { shadowPrice } from "./memory-shadow-price.js";

interface LeaseSummary {
  readonly own: GapProfile;
  ingested: number;
}

/** The T in {0} U values (up to maxWarm) of least weighted cost hold x E[min(G,T)] + penalty x P(G>T); the smallest on ties. */
export const weightedKeepAlive = (values: readonly number[], weights: readonly number[], hold: number, penalty: number, maxWarm: number): number => {
  let total = 0;
  for (const w of weights) total += w;
  let positive = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > 0) positive += weights[i];
  let best = 0;
  let bestCost = penalty * positive;
  let below = 0; // weighted sum of the gaps <= t
  let count = 0; // their weight
  for (let i = 0; i < values.length; i++) {
    const t = values[i];
    if (t > maxWarm) break;
    below += weights[i] * t;
    count += weights[i];
    const beyond = total - count;
    const cost = hold * (below + t * beyond) + penalty * beyond;
    if (cost < bestCost - 1e-12 * Math.abs(bestCost)) {
      bestCost = cost;
      best = t;
    }
  }
  return best;
};

/** The pooled, online form of Berth's keep-alive (one instance per fleet: it holds the fleet's gaps). */
export const pooledBerthKeepAlive = (o: BerthKeepAliveOptions = defaultBerthKeepAliveOptions): KeepAlivePolicy => {
  const leases = new WeakMap<readonly number[], LeaseSummary>();
  const shadow = o.pressureWindow > 0 ? shadowPrice(o.pressureWindow, o.referenceLoad) : undefined;
  const seen = new GapProfile(o.timeOfDayShiftAbove);
  const halfHours = Math.round(o.timeOfDayWindow / HOUR);
  const minNear = Math.max(o.minSamples, o.timeOfDaySamples);
  // Scratch distributions, reused by every decision (a decision is synchronous).
  const all = emptyBinnedGaps();
  const near = emptyBinnedGaps();
  const pooled = emptyBinnedGaps();
  const clear = (g: BinnedGaps) => {
    g.weight.fill(0);
    g.sum.fill(0);
  };

  const ingest = (input: KeepAliveInput, starts: readonly number[]): GapProfile => {
    let lease = leases.get(input.idleGaps);
    // A shorter history than seen is another lease's (or a rewritten one): start it afresh.
    if (lease === undefined || lease.ingested > input.idleGaps.length) {
      lease = { own: new GapProfile(o.timeOfDayShiftAbove), ingested: 0 };
      leases.set(input.idleGaps, lease);
    }
    for (let i = lease.ingested; i < input.idleGaps.length; i++) {
      lease.own.add(starts[i], input.idleGaps[i]);
      seen.add(starts[i], input.idleGaps[i]);
    }
    lease.ingested = input.idleGaps.length;
    return lease.own;
  };

  const windows = (input: KeepAliveInput): KeepAliveWindows => {
    const starts = input.idleStarts;
    if (input.idleSince === undefined || starts === undefined || starts.length !== input.idleGaps.length) return berthWindows(input, o);
    const own = ingest(input, starts);
    const fleet = input.fleet === undefined ? seen : fleetProfile(input.fleet, o.timeOfDayShiftAbove);
    const penalty = o.referencePenalty ? o.referenceLoad : input.loadTime;
    // Memory at the operator's base price plus what the shared budget adds (memory-shadow-price.ts).
    const mu = shadow !== undefined && input.pressure !== undefined ? shadow.at(input.pressure.at ?? input.idleSince, input.pressure) : 0;
    const hold = (memoryPrice(o) + mu) * input.size;
    // The prior weighs at most as many gaps as the rest of the fleet has shown.
    const k = Math.max(0, Math.min(o.fleetPrior, fleet.total - own.total));
    if (own.total + k < o.minSamples) {
      const breakEven = input.size > 0 ? penalty / hold : o.maxKeepAlive;
      return { prewarm: 0, keepAlive: Math.min(o.maxKeepAlive, breakEven), mode: "NoHistory" };
    }
    // (P, E): from the gaps near this time of day, own and pooled; all own gaps when too few.
    const since = input.idleSince;
    const addNear = (g: GapProfile, into: BinnedGaps): number =>
      o.timeOfDayTaper ? g.addNearTimeOfDayTapered(into, since, halfHours) : g.addNearTimeOfDay(into, since, halfHours);
    clear(near);
    if (addNear(own, near) < minNear) {
      clear(near);
      addBinned(near, own.all);
    }
    if (k > 0) {
      clear(pooled);
      const weight = addNear(fleet, pooled);
      if (weight > 0) addBinned(near, pooled, k / weight);
    }
    const support = binnedSupport(near);
    // U: the single keep-alive over the same gaps (with warmFromAllGaps: over all gaps, own and pooled).
    let warmFor: number;
    if (o.warmFromAllGaps) {
      clear(all);
      addBinned(all, own.all);
      if (k > 0) addBinned(all, fleet.all, k / fleet.total);
      const allSupport = binnedSupport(all);
      warmFor = weightedKeepAlive(allSupport.values, allSupport.weights, hold, penalty, o.maxKeepAlive);
    } else warmFor = weightedKeepAlive(support.values, support.weights, hold, penalty, o.maxKeepAlive);
    const plan = optimalPlan(support.values, { hold, loadPenalty: penalty, lead: o.leadLoads * input.loadTime, maxWarm: o.maxKeepAlive, warmFor }, support.weights);
    if (plan.prewarmAt > plan.warmFor) return { prewarm: plan.prewarmAt, warmFor: plan.warmFor, keepAlive: plan.warmUntil, mode: "Prewarm" };
    return { prewarm: 0, keepAlive: plan.warmUntil, mode: "CostOptimal" };
  };

  return { name: BERTH_KEEPALIVE, windows };
};
