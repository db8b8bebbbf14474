import { colocationFilter } from "./colocation.js";
import { filterScorePolicy } from "./framework.js";
import { gpuMemoryRoomFilter } from "./gpu-memory-room.js";
import { mostAllocatedScorer } from "./most-allocated.js";
import { poolQuotaFilter } from "./pool-quota.js";
import { sameGroupFilter } from "./same-group.js";
import { samePoolFilter } from "./same-pool.js";
import { serverStateFilter } from "./server-state.js";
import type { ServerBindingPolicy, ServerFilter } from "./types.js";
import { warmModelsScorer } from "./warm-models.js";

/** Every filter a binding must pass; cheap, decisive ones first (they short-circuit when not explaining). */
export const defaultServerFilters = (): readonly ServerFilter[] => [
  samePoolFilter(),
  sameGroupFilter(),
  poolQuotaFilter(),
  serverStateFilter(),
  colocationFilter(),
  gpuMemoryRoomFilter(),
];

export const MOST_ALLOCATED_POLICY = "most-allocated";
export const LEAST_ALLOCATED_POLICY = "least-allocated";

/** Binding policies by name (DecideConfig.serverPolicy). */
export const serverBindingPolicies: Readonly<Record<string, () => ServerBindingPolicy>> = {
  // Packing: fill servers so that empty pool instances can be removed; warm models break near-ties.
  [MOST_ALLOCATED_POLICY]: () =>
    filterScorePolicy(MOST_ALLOCATED_POLICY, defaultServerFilters(), [
      { scorer: mostAllocatedScorer(), weight: 1 },
      { scorer: warmModelsScorer(), weight: 1 },
    ]),
  // Spreading: the emptiest server first (fewer neighbours competing for the GPU).
  [LEAST_ALLOCATED_POLICY]: () =>
    filterScorePolicy(LEAST_ALLOCATED_POLICY, defaultServerFilters(), [
      { scorer: { name: "LeastAllocated", score: (request, candidate) => 100 - mostAllocatedScorer().score(request, candidate) }, weight: 1 },
      { scorer: warmModelsScorer(), weight: 1 },
    ]),
};

export const serverBindingPolicyNames = (): readonly string[] => Object.keys(serverBindingPolicies).sort();

/** The named binding policy, or undefined for an unknown name. */
export const serverBindingPolicy = (name: string): ServerBindingPolicy | undefined => serverBindingPolicies[name]?.();
