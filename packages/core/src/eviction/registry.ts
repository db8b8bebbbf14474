// Eviction policies by name, as the control plane's configuration and the simulator name them.
import type { EvictionPolicy } from "./types.js";
import { COST_AWARE, costAware } from "./cost-aware.js";
import { LRU, lru } from "./lru.js";

export const evictionPolicies: Readonly<Record<string, () => EvictionPolicy>> = {
  [LRU]: () => lru(),
  [COST_AWARE]: () => costAware(),
};

export const evictionPolicyNames = Object.keys(evictionPolicies);

/** The policy registered under `name`, or undefined. */
export const evictionPolicy = (name: string): EvictionPolicy | undefined => evictionPolicies[name]?.();
