// Per-policy summary of the experiment (what the JSON holds) and its HTML report.
import { chart, page, table } from "../report/index.js";
import { CURVE_MAX_PERCENT, meanCurve } from "./curve.js";
import type { CellResult } from "./experiment.js";

export interface PolicySummary {
  readonly policy: string;
  /** Mean over seeds of the allocation ratio (percent) at 100% and 130% arrived GPU request. */
  readonly at100: number;
  readonly at130: number;
  /** Mean allocation ratio at each arrived percent 0..130 (index = percent). */
  readonly curve: number[];
  readonly seeds: number[];
  readonly at130BySeed: number[];
  readonly failedMean: number;
  /** Placements per second inside the policy, mean over seeds. */
  readonly placementsPerSecond: number;
}

export interface ExperimentSummary {
  readonly nodes: string;
  readonly pods: string;
  readonly arrivalRatio: number;
  readonly policies: PolicySummary[];
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

export const summarise = (policies: readonly string[], results: readonly CellResult[]): PolicySummary[] =>
  policies.map((policy) => {
    const mine = results.filter((r) => r.policy === policy);
    const curve = meanCurve(mine.map((r) => r.curve));
    const rate = mine.reduce((s, r) => s + (r.placed + r.failed) / Math.max(r.placeSeconds, 1e-9), 0) / Math.max(1, mine.length);
    return {
      policy,
      at100: round2(curve[100]),
      at130: round2(curve[CURVE_MAX_PERCENT]),
      curve: curve.map(round2),
      seeds: mine.map((r) => r.seed),
      at130BySeed: mine.map((r) => round2(r.curve[CURVE_MAX_PERCENT])),
      failedMean: mine.reduce((s, r) => s + r.failed, 0) / Math.max(1, mine.length),
      placementsPerSecond: Math.round(rate),
    };
  });

export const reportHtml = (summary: ExperimentSummary): string =>
  page(
    "openb packing: GPU allocation ratio",
    `Nodes ${summary.nodes}; pods ${summary.pods}; pods never depart and arrive until their GPU request reaches ${summary.arrivalRatio * 100}% of capacity; mean over seeds ${summary.policies[0]?.seeds.join(", ") ?? ""}.`,
    [
      {
        heading: "Allocation ratio against arrived GPU request",
        body: chart({
          title: "GPU allocation ratio (%)",
          xLabel: "arrived GPU request (% of capacity)",
          yLabel: "allocated GPU (% of capacity)",
          series: summary.policies.map((p) => ({
            name: p.policy,
            points: p.curve.map((y, x) => [x, y] as const).filter(([, y]) => !Number.isNaN(y)),
          })),
          yMin: 0,
          yMax: 100,
        }),
      },
      {
        heading: "Zoom: 80% arrived and beyond",
        body: chart({
          title: "GPU allocation ratio (%), 80..130% arrived",
          xLabel: "arrived GPU request (% of capacity)",
          yLabel: "allocated GPU (% of capacity)",
          series: summary.policies.map((p) => ({
            name: p.policy,
            points: p.curve.map((y, x) => [x, y] as const).filter(([x, y]) => x >= 80 && !Number.isNaN(y)),
          })),
        }),
      },
      {
        heading: "Summary",
        body: table(
          ["policy", "at 100% arrived", "at 130% arrived", "min..max at 130% over seeds", "failed pods (mean)", "placements/s"],
          summary.policies.map((p) => [
            p.policy,
            p.at100.toFixed(2),
            p.at130.toFixed(2),
            `${Math.min(...p.at130BySeed).toFixed(2)}..${Math.max(...p.at130BySeed).toFixed(2)}`,
            p.failedMean.toFixed(0),
            p.placementsPerSecond,
          ]),
        ),
      },
    ],
  );
