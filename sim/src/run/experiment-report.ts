import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { chart, page, table } from "../report/index.js";
import { policyLabel, type ExperimentRun } from "../scenario/experiment.js";
import type { Scenario } from "../scenario/schema.js";
import { percentiles } from "./metrics.js";
import type { RunResult } from "./result.js";

/** One row per (workload, policies): means over the seeds. */
export interface ExperimentRow {
  readonly workload: string;
  readonly policies: string;
  readonly runs: number;
  readonly readyShare: number;
  readonly failed: number;
  readonly timeToReadyP50: number;
  readonly timeToReadyP99: number;
  readonly coldLoads: number;
  readonly evictions: number;
  readonly gpuMemoryGiBHours: number;
  readonly meanGpuAllocation: number;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

export const experimentRows = (runs: readonly ExperimentRun[], results: readonly RunResult[]): ExperimentRow[] => {
  const groups = new Map<string, { workload: string; policies: string; results: RunResult[] }>();
  runs.forEach((run, i) => {
    const key = `${run.workloadName}\u0000${policyLabel(run.policies)}`;
    const g = groups.get(key) ?? { workload: run.workloadName, policies: policyLabel(run.policies), results: [] };
    g.results.push(results[i]);
    groups.set(key, g);
  });
  return [...groups.values()].map((g) => ({
    workload: g.workload,
    policies: g.policies,
    runs: g.results.length,
    readyShare: mean(g.results.map((r) => (r.leases.requested === 0 ? 1 : r.leases.ready / r.leases.requested))),
    failed: mean(g.results.map((r) => r.leases.failed)),
    timeToReadyP50: mean(g.results.map((r) => r.timeToReady.p50)),
    timeToReadyP99: mean(g.results.map((r) => r.timeToReady.p99)),
    coldLoads: mean(g.results.map((r) => r.backend.coldLoads)),
    evictions: mean(g.results.map((r) => r.decisions.evictions)),
    gpuMemoryGiBHours: mean(g.results.map((r) => r.gpuMemoryGiBHours)),
    meanGpuAllocation: mean(g.results.map((r) => mean(r.samples.map((s) => s.gpuAllocation)))),
  }));
};

/** Writes the experiment's comparison: JSON (rows and per-run headline figures) and an HTML page. */
export const writeExperimentReport = (scenario: Scenario, runs: readonly ExperimentRun[], results: readonly RunResult[], jsonPath: string, htmlPath: string): void => {
  const rows = experimentRows(runs, results);
  const perRun = runs.map((run, i) => {
    const { samples: _s, trace: _t, lastDecisions: _d, ...headline } = results[i];
    return { id: run.id, ...headline };
  });
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ scenario: scenario.name, rows, runs: perRun }, null, 2)}\n`);
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const html = page(`Berth experiment: ${scenario.name}`, `${runs.length} runs: ${scenario.description}`, [
    {
      heading: "Policies compared (means over seeds)",
      body: table(["workload", "policies", "runs", "Ready share", "failed", "time to Ready p50 (s)", "p99 (s)", "cold loads", "evictions", "GPU mem GiB-h", "mean GPU allocation"],
        rows.map((r) => [r.workload, r.policies, r.runs, `${(100 * r.readyShare).toFixed(1)}%`, r.failed.toFixed(1), s(r.timeToReadyP50), s(r.timeToReadyP99), r.coldLoads.toFixed(1), r.evictions.toFixed(1), r.gpuMemoryGiBHours.toFixed(2), `${(100 * r.meanGpuAllocation).toFixed(1)}%`])),
    },
    {
      heading: "Time to Ready p50 per run",
      body: chart({
        title: "Time to Ready p50 (s) by seed",
        xLabel: "seed",
        yLabel: "seconds",
        markers: true,
        series: rows.map((row) => ({
          name: `${row.workload} ${row.policies}`,
          points: runs.flatMap((run, i) => (run.workloadName === row.workload && policyLabel(run.policies) === row.policies ? [[run.seed, results[i].timeToReady.p50 / 1000] as const] : [])),
        })),
      }),
    },
    {
      heading: "Time to Ready across all runs",
      body: table(["policies", "p50 of p50s (s)", "max p99 (s)"], rows.map((row) => {
        const rs = runs.flatMap((run, i) => (policyLabel(run.policies) === row.policies && run.workloadName === row.workload ? [results[i]] : []));
        return [`${row.workload} ${row.policies}`, s(percentiles(rs.map((r) => r.timeToReady.p50)).p50), s(Math.max(...rs.map((r) => r.timeToReady.p99)))];
      })),
    },
  ]);
  mkdirSync(dirname(htmlPath), { recursive: true });
  writeFileSync(htmlPath, html);
};
