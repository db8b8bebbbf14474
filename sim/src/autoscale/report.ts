import { chart, page, table } from "../report/index.js";
import type { AutoscaleReport, PolicySummary } from "./experiment.js";

// The experiment as a self-contained HTML page and as a plain-text table for the terminal and
// sim/results/autoscale.md.

const HEADERS = ["policy", "violations", "violations %", "replica-seconds", "mean replicas", "p50 queue (s)", "p99 queue (s)", "scale-ups", "scale-downs"];

const row = (s: PolicySummary): (string | number)[] => [
  s.policy,
  s.violations.toFixed(1),
  s.violationPct.toFixed(2),
  s.replicaSeconds.toFixed(0),
  s.meanReplicas.toFixed(2),
  (s.p50QueueMs / 1000).toFixed(2),
  (s.p99QueueMs / 1000).toFixed(2),
  s.scaleUps.toFixed(1),
  s.scaleDowns.toFixed(1),
];

/** A Markdown table of the per-policy means over seeds. */
export const markdownTable = (r: AutoscaleReport): string =>
  [`| ${HEADERS.join(" | ")} |`, `|${HEADERS.map(() => "---").join("|")}|`, ...r.summary.map((s) => `| ${row(s).join(" | ")} |`)].join("\n");

export const autoscaleHtml = (r: AutoscaleReport): string => {
  const s = r.settings;
  const policies = Object.keys(r.series);
  const seed = s.seeds[0];
  return page(
    "Berth autoscaling: HPA (Kubernetes defaults) vs Berth on the Azure LLM code trace",
    `Requests from the Azure LLM inference trace (code, 2023); service time = prompt tokens / ${s.service.prefillTokensPerS} tokens/s + ` +
      `${s.service.decodeMsPerToken} ms per generated token, ${s.service.slotsPerReplica} batch slots per replica; replica start-up ${s.startupMs / 1000} s; ` +
      `autoscaler every ${s.periodMs / 1000} s; replicas ${s.minReplicas}..${s.maxReplicas}; SLO: queue time over ${s.sloMs / 1000} s is a violation; ` +
      `picker ${s.picker}; seeds ${s.seeds.join(", ")}. Table: means over seeds; charts: seed ${seed}.`,
    [
      { heading: "Summary (mean over seeds)", body: table(HEADERS, r.summary.map(row)) },
      {
        heading: "Replicas over time",
        body: chart({
          title: "Replicas (starting + ready)",
          xLabel: "time (s)",
          yLabel: "replicas",
          series: policies.map((p) => ({ name: p, points: r.series[p].map((t) => [t.atMs / 1000, t.replicas] as const) })),
          yMin: 0,
        }),
      },
      {
        heading: "Queue time over time",
        body: chart({
          title: "Mean queue time of requests starting service in each period",
          xLabel: "time (s)",
          yLabel: "queue time (s)",
          series: policies.map((p) => ({ name: p, points: r.series[p].map((t) => [t.atMs / 1000, t.meanQueueMs / 1000] as const) })),
          yMin: 0,
        }),
      },
      {
        heading: "Arrivals",
        body: chart({
          title: "Arrivals per period",
          xLabel: "time (s)",
          yLabel: "requests",
          series: policies.slice(0, 1).map(() => ({ name: "arrivals", points: r.series[policies[0]].map((t) => [t.atMs / 1000, t.arrivals] as const) })),
          yMin: 0,
        }),
      },
      {
        heading: "All runs",
        body: table(
          ["policy", "seed", "violations", "violations %", "replica-seconds", "p50 queue (s)", "p99 queue (s)"],
          r.runs.map((x) => [x.policy, x.seed, x.violations, x.violationPct.toFixed(2), x.replicaSeconds.toFixed(0), (x.p50QueueMs / 1000).toFixed(2), (x.p99QueueMs / 1000).toFixed(2)]),
        ),
      },
    ],
  );
};
