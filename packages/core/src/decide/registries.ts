import { defaultHpaBehavior, withStabilization } from "../autoscaler/hpa-behavior.js";
import { HPA_POLICY_NAME, hpaPolicy } from "../autoscaler/hpa.js";
import { autoscalerPolicies, isAutoscalerPolicyName } from "../autoscaler/registry.js";
import { evictionPolicy } from "../eviction/registry.js";
import { FGD_POLICY } from "../placement/policies/fgd.js";
import { createPolicy, isPolicyName } from "../placement/registry.js";
import { serverBindingPolicy } from "../placement/server/registry.js";
import { defaultDecideConfig, type DecideConfig } from "./config.js";
import { cachedPolicies, type DecidePolicies } from "./policies.js";

/**
 * Policies from the registries by name, one instance per name for the life of the resolver
 * (placement policies keep per-run caches: use one resolver per run). FGD needs a target
 * workload the config cannot carry, so it is not available here; hand a resolver that
 * builds it to use it. `config` supplies what the policies take from it (the `hpa`
 * policy's stabilization windows).
 */
export const registryPolicies = (config: DecideConfig = defaultDecideConfig): DecidePolicies => {
  const hpaBehavior = withStabilization(defaultHpaBehavior, {
    scaleUpMs: config.autoscaler.scaleUpStabilization,
    scaleDownMs: config.autoscaler.scaleDownStabilization,
  });
  return cachedPolicies({
    placement: (name) => (isPolicyName(name) && name !== FGD_POLICY ? createPolicy(name) : undefined),
    serverBinding: (name) => serverBindingPolicy(name),
    eviction: (name) => evictionPolicy(name),
    autoscaler: (name) => {
      if (name === HPA_POLICY_NAME) return hpaPolicy({ behavior: hpaBehavior });
      return isAutoscalerPolicyName(name) ? autoscalerPolicies[name]() : undefined;
    },
  });
};
