import type { PolicySpec, Scenario, Workload } from "./schema.js";

/** One run of an experiment: a complete scenario, and the settings that made it. */
export interface ExperimentRun {
  /** `<scenario>/<workload>/<placement>+<server>+<eviction>+<autoscaler>/seed-<n>`: unique within the experiment. */
  readonly id: string;
  readonly seed: number;
  readonly policies: PolicySpec;
  readonly workloadName: string;
  readonly scenario: Scenario;
}

const seedsOf = (s: Scenario): readonly number[] => {
  const seeds = s.experiment?.seeds;
  if (seeds === undefined) return [s.seed];
  if ("from" in seeds) return Array.from({ length: seeds.count }, (_, i) => seeds.from + i);
  return seeds;
};

const policiesOf = (s: Scenario): readonly PolicySpec[] =>
  (s.experiment?.policies ?? [{}]).map((p) => ({ ...s.policies, ...definedOnly(p) }));

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

const workloadsOf = (s: Scenario): readonly { readonly name: string; readonly workload: Workload }[] =>
  s.experiment?.workloads ?? [{ name: "workload", workload: s.workload }];

/** `placement+server+eviction+autoscaler` (`default` where decide's default applies), `+cold` without keep-warm. */
export const policyLabel = (p: PolicySpec): string =>
  `${p.placement ?? "default"}+${p.server ?? "default"}+${p.eviction ?? "default"}+${p.autoscaler}${p.keepWarm === false ? "+cold" : ""}`;

/**
 * The cartesian product of an experiment's settings (workloads x policies x seeds), in that
 * nesting order, each as a plain scenario without an experiment section. A scenario without
 * an experiment expands to itself. Pure: the same scenario always gives the same runs.
 */
export const expand = (s: Scenario): ExperimentRun[] => {
  const { experiment: _experiment, ...base } = s;
  const runs: ExperimentRun[] = [];
  for (const w of workloadsOf(s)) {
    for (const policies of policiesOf(s)) {
      for (const seed of seedsOf(s)) {
        runs.push({
          id: `${s.name}/${w.name}/${policyLabel(policies)}/seed-${seed}`,
          seed,
          policies,
          workloadName: w.name,
          scenario: { ...base, seed, policies, workload: w.workload },
        });
      }
    }
  }
  return runs;
};
