// The policies the keep-alive experiment compares: a keep-alive policy (when warm models
// expire on their own) paired with an eviction policy (who goes when memory is needed),
// and whether an expired model is unloaded at once or kept warm until memory is needed.
import type { EvictionPolicy } from "@berth/core/eviction/types";
import type { KeepAlivePolicy } from "@berth/core/eviction/keepalive";
import { MINUTE } from "@berth/core/eviction/keepalive";
import { lru } from "@berth/core/eviction/lru";
import { costAware } from "@berth/core/eviction/cost-aware";
import { fixed, untilNeeded } from "@berth/core/eviction/keepalive-fixed";
import { hybridHistogram } from "@berth/core/eviction/keepalive-hybrid";
import { berthKeepAlive, defaultBerthKeepAliveOptions, type BerthKeepAliveOptions } from "@berth/core/eviction/keepalive-berth";
import { pooledBerthKeepAlive } from "@berth/core/eviction/keepalive-berth-pooled";

export interface SimPolicy {
  readonly name: string;
  readonly keepAlive: KeepAlivePolicy;
  readonly eviction: EvictionPolicy;
  /** True: unload when the keep-alive window ends. False: an expired model stays warm until evicted. */
  readonly unloadAtExpiry: boolean;
  readonly describe: string;
}

/** Berth before pre-warm plans and time of day: one keep-alive T over all gaps. */
const rentOrBuyOnly: BerthKeepAliveOptions = { ...defaultBerthKeepAliveOptions, prewarm: false, timeOfDayWindow: 0, referencePenalty: false };
/** Berth without the fleet prior: each lease's plan from its own gaps alone. */
const alone: BerthKeepAliveOptions = { ...defaultBerthKeepAliveOptions, fleetPrior: 0 };
/** Berth at the base price alone: memory pressure does not move it (the default before the shadow price). */
const basePriceOnly: BerthKeepAliveOptions = { ...defaultBerthKeepAliveOptions, pressureWindow: 0 };
/** Berth with U, the keep-alive before any pre-warm, from all of the lease's gaps, and a plain time-of-day window: the plan before this session. */
const warmFromAllGaps: BerthKeepAliveOptions = { ...defaultBerthKeepAliveOptions, warmFromAllGaps: true, timeOfDayTaper: false };
/** Berth with the gaps of the +-6 h window weighing alike (no taper). */
const plainWindow: BerthKeepAliveOptions = { ...defaultBerthKeepAliveOptions, timeOfDayTaper: false };

export const simPolicies: Readonly<Record<string, () => SimPolicy>> = {
  "fixed-10m": () => ({
    name: "fixed-10m", keepAlive: fixed(10 * MINUTE), eviction: lru(), unloadAtExpiry: true,
    describe: "warm 10 min after each use (AWS Lambda); LRU among idle models when memory is full",
  }),
  "fixed-20m": () => ({
    name: "fixed-20m", keepAlive: fixed(20 * MINUTE), eviction: lru(), unloadAtExpiry: true,
    describe: "warm 20 min after each use (Azure Functions); LRU among idle models when memory is full",
  }),
  hybrid: () => ({
    name: "hybrid", keepAlive: hybridHistogram(), eviction: lru(), unloadAtExpiry: true,
    describe: "Shahrad et al. ATC'20 hybrid histogram (pre-warm at p5, keep to p99, 4 h fallback); LRU when memory is full",
  }),
  lru: () => ({
    name: "lru", keepAlive: untilNeeded(), eviction: lru(), unloadAtExpiry: false,
    describe: "an LRU cache: warm until memory is needed, least recently used first",
  }),
  berth: () => ({
    name: "berth", keepAlive: pooledBerthKeepAlive(), eviction: costAware(), unloadAtExpiry: true,
    describe: "cost-optimal keep-alive + unload + pre-warm plan from each model's idle gaps near this time of day pooled with the fleet's (k = 10), lulls dated by time of day, memory priced at the base price plus the budget's shadow price (evictions over the last day); cost-aware eviction when memory is full",
  }),
  "berth-base": () => ({
    name: "berth-base", keepAlive: pooledBerthKeepAlive(basePriceOnly), eviction: costAware(), unloadAtExpiry: true,
    describe: "ablation: Berth at the base price alone (no shadow price from memory pressure)",
  }),
  "berth-window": () => ({
    name: "berth-window", keepAlive: pooledBerthKeepAlive(plainWindow), eviction: costAware(), unloadAtExpiry: true,
    describe: "ablation: Berth with every gap of the +-6 h time-of-day window weighing alike (no taper)",
  }),
  "berth-allgaps": () => ({
    name: "berth-allgaps", keepAlive: pooledBerthKeepAlive(warmFromAllGaps), eviction: costAware(), unloadAtExpiry: true,
    describe: "ablation: Berth with the keep-alive before the pre-warm (U) from all of a model's gaps, not those near this time of day, and no taper (with @240m: the default before this session)",
  }),
  "berth-alone": () => ({
    name: "berth-alone", keepAlive: pooledBerthKeepAlive({ ...alone, pressureWindow: 0 }), eviction: costAware(), unloadAtExpiry: true,
    describe: "ablation: Berth without the fleet prior (each model's plan from its own gaps alone)",
  }),
  "berth-rent": () => ({
    name: "berth-rent", keepAlive: berthKeepAlive(rentOrBuyOnly), eviction: costAware(), unloadAtExpiry: true,
    describe: "ablation: Berth's single rent-or-buy keep-alive T (no pre-warm, no time of day, measured load price); cost-aware eviction",
  }),
  "berth-warm": () => ({
    name: "berth-warm", keepAlive: pooledBerthKeepAlive(), eviction: costAware(), unloadAtExpiry: false,
    describe: "Berth's lease expiry, but expired models stay warm until memory is needed; cost-aware eviction",
  }),
};

export const simPolicyNames = Object.keys(simPolicies);

/**
 * A policy by name; `berth@<minutes>m` and `berth-warm@<minutes>m` (also berth-base,
 * berth-alone, berth-rent) set Berth's base break-even time (how long holding a median model
 * is worth one median reload), to trace its frontier; `berth~<hours>h[@<minutes>m]` sets the
 * window of the shadow price's eviction count.
 */
export const simPolicy = (name: string): SimPolicy | undefined => {
  const registered = simPolicies[name];
  if (registered) return registered();
  const w = /^berth~(\d+(?:\.\d+)?)h(?:@(\d+(?:\.\d+)?)m)?$/.exec(name);
  if (w) {
    const pressureWindow = Number(w[1]) * 60 * MINUTE;
    if (!(pressureWindow > 0)) return undefined;
    const breakEven = w[2] === undefined ? defaultBerthKeepAliveOptions.breakEven : Number(w[2]) * MINUTE;
    return { ...simPolicies.berth(), name, keepAlive: pooledBerthKeepAlive({ ...defaultBerthKeepAliveOptions, pressureWindow, breakEven }) };
  }
  const m = /^(berth|berth-warm|berth-rent|berth-alone|berth-base|berth-allgaps|berth-window)@(\d+(?:\.\d+)?)m$/.exec(name);
  if (!m || !(Number(m[2]) > 0)) return undefined;
  const base = simPolicies[m[1]]();
  const breakEven = Number(m[2]) * MINUTE;
  if (m[1] === "berth-rent") return { ...base, name, keepAlive: berthKeepAlive({ ...rentOrBuyOnly, breakEven }) };
  const options = m[1] === "berth-alone" ? { ...alone, pressureWindow: 0 } : m[1] === "berth-base" ? basePriceOnly : m[1] === "berth-allgaps" ? warmFromAllGaps : m[1] === "berth-window" ? plainWindow : defaultBerthKeepAliveOptions;
  return { ...base, name, keepAlive: pooledBerthKeepAlive({ ...options, breakEven }) };
};
export const defaultPolicyNames = ["fixed-10m", "fixed-20m", "hybrid", "lru", "berth", "berth-warm"];
