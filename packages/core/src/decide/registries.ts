import { autoscalerPolicies, isAutoscalerPolicyName } from "../autoscaler/registry.js";
import { evictionPolicy } from "../eviction/registry.js";
import { FGD_POLICY } from "../placement/policies/fgd.js";
import { createPolicy, isPolicyName } from "../placement/registry.js";
import { serverBindingPolicy } from "../placement/server/registry.js";
import { cachedPolicies, type DecidePolicies } from "./policies.js";

/**
 * Policies from the registries by name, one instance per name for the life of the resolver
 * (placement policies keep per-run caches: use one resolver per run). FGD needs a target
 * workload the config cannot carry, so it is not available here; hand a resolver that
 * builds it to use it.
 */
export const registryPolicies = (): DecidePolicies =>
  cachedPolicies({
    placement: (name) => (isPolicyName(name) && name !== FGD_POLICY ? createPolicy(name) : undefined),
    serverBinding: (name) => serverBindingPolicy(name),
    eviction: (name) => evictionPolicy(name),
    autoscaler: (name) => (isAutoscalerPolicyName(name) ? autoscalerPolicies[name]() : undefined),
  });
