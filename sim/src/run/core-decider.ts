import { decide, defaultDecideConfig, emptySnapshot, registryPolicies, type DecideConfig } from "@berth/core/decide/index";
import type { Problem } from "../scenario/load.js";
import type { PolicySpec, Scenario } from "../scenario/schema.js";
import { meanOf } from "../workload/distribution.js";
import type { DeciderFactory } from "./world.js";

/** The DecideConfig a scenario asks for: its policy names over decide's defaults. */
export const decideConfigOf = (s: Scenario, explain = false): DecideConfig => ({
  ...defaultDecideConfig,
  placementPolicy: s.policies.placement ?? defaultDecideConfig.placementPolicy,
  serverPolicy: s.policies.server ?? defaultDecideConfig.serverPolicy,
  evictionPolicy: s.policies.eviction ?? defaultDecideConfig.evictionPolicy,
  keepWarm: s.policies.keepWarm ?? defaultDecideConfig.keepWarm,
  // decide's first guess of a server's start-up is the scenario's mean (measured data when given)
  server: { ...defaultDecideConfig.server, startupTime: s.servers.startup.kind === "measured" ? defaultDecideConfig.server.startupTime : meanOf(s.servers.startup) },
  // per-candidate verdicts cost time on every decision; the trace keeps outcomes either way
  explain,
});

/** The core's decide with the scenario's policies: one policy resolver per run (their caches live across steps). */
export const coreDeciderWith = (explain: boolean): DeciderFactory => (scenario, decideSeed) => {
  const config = decideConfigOf(scenario, explain);
  const policies = registryPolicies();
  return { initial: emptySnapshot({ now: 0, seed: decideSeed }), step: (snapshot, event) => decide(snapshot, event, config, policies) };
};

export const coreDecider: DeciderFactory = coreDeciderWith(false);

/** Policy names the core's registries do not know, as problems with their paths. */
export const unknownPolicies = (policies: readonly { readonly path: string; readonly spec: PolicySpec }[]): Problem[] => {
  const registry = registryPolicies();
  const problems: Problem[] = [];
  for (const { path, spec } of policies) {
    if (spec.placement !== undefined && registry.placement(spec.placement) === undefined) problems.push({ path: `${path}.placement`, message: `unknown placement policy ${spec.placement}` });
    if (spec.server !== undefined && registry.serverBinding(spec.server) === undefined) problems.push({ path: `${path}.server`, message: `unknown server binding policy ${spec.server}` });
    if (spec.eviction !== undefined && registry.eviction(spec.eviction) === undefined) problems.push({ path: `${path}.eviction`, message: `unknown eviction policy ${spec.eviction}` });
    if (registry.autoscaler(spec.autoscaler) === undefined) problems.push({ path: `${path}.autoscaler`, message: `unknown autoscaler ${spec.autoscaler}` });
  }
  return problems;
};

/** Every policy set a scenario names (its own and its experiment's), with paths, checked against the registries. */
export const scenarioPolicyProblems = (s: Scenario): Problem[] =>
  unknownPolicies([
    { path: "policies", spec: s.policies },
    ...(s.experiment?.policies ?? []).map((p, i) => ({ path: `experiment.policies[${i}]`, spec: { ...s.policies, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as PolicySpec })),
  ]);
