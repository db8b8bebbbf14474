import type { AutoscalerPolicy } from "../autoscaler/types.js";
import type { EvictionPolicy } from "../eviction/types.js";
import type { ServerBindingPolicy } from "../placement/server/types.js";
import type { PlacementPolicy } from "../placement/types.js";

/**
 * How decide finds the policies DecideConfig names. The default resolves them from the
 * registries; a caller may hand its own (a long-lived simulator keeps one resolver so the
 * policies' caches live across steps). An unknown name resolves to undefined and decide
 * turns that into a rejection or a failure with the name in it, never a throw.
 */
export interface DecidePolicies {
  placement(name: string): PlacementPolicy | undefined;
  serverBinding(name: string): ServerBindingPolicy | undefined;
  eviction(name: string): EvictionPolicy | undefined;
  autoscaler(name: string): AutoscalerPolicy | undefined;
}

/** Memoises a resolver's answers by name: policies are pure, so one instance per name serves every step. */
export const cachedPolicies = (inner: DecidePolicies): DecidePolicies => {
  const memo = <T>(get: (name: string) => T | undefined) => {
    const cache = new Map<string, T | undefined>();
    return (name: string): T | undefined => {
      if (!cache.has(name)) cache.set(name, get(name));
      return cache.get(name);
    };
  };
  return {
    placement: memo((n) => inner.placement(n)),
    serverBinding: memo((n) => inner.serverBinding(n)),
    eviction: memo((n) => inner.eviction(n)),
    autoscaler: memo((n) => inner.autoscaler(n)),
  };
};
