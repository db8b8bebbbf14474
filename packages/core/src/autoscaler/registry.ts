import type { AutoscalerPolicyName } from "../spec/types.js";
import { berthPolicy, BERTH_POLICY_NAME } from "./berth.js";
import { hpaPolicy, HPA_POLICY_NAME } from "./hpa.js";
import type { AutoscalerPolicy } from "./types.js";

/** Autoscaler policies by the name a lease's `autoscaling.policy` gives; each factory uses its defaults. */
export const autoscalerPolicies: Readonly<Record<AutoscalerPolicyName, () => AutoscalerPolicy>> = {
  [HPA_POLICY_NAME]: () => hpaPolicy(),
  [BERTH_POLICY_NAME]: () => berthPolicy(),
};

export const isAutoscalerPolicyName = (name: string): name is AutoscalerPolicyName => Object.hasOwn(autoscalerPolicies, name);
