// The keep-alive experiment's report: a cold-starts vs GPU-memory-hours scatter per budget
// and a table, as one self-contained HTML page (sim/src/report), plus a markdown table.
import { chart, page, table, type Section } from "../report/index.js";
import type { KeepaliveExperimentResult, KeepaliveSummary } from "./experiment.js";

export const HEADERS = ["budget GiB", "policy", "cold starts", "(min-max)", "p50 TTFI s", "p99 TTFI s", "GPU-mem GiB-h", "vs hybrid mem", "evictions", "displaced", "memory waits"] as const;

const row = (s: KeepaliveSummary, hybrid: KeepaliveSummary | undefined): (string | number)[] => [
  s.budgetGiB,
  s.policy,
  s.coldStarts.toFixed(1),
  `${s.coldStartsMin}-${s.coldStartsMax}`,
  (s.ttfiP50Ms / 1000).toFixed(1),
  (s.ttfiP99Ms / 1000).toFixed(1),
  s.memoryGiBHours.toFixed(0),
  hybrid ? `${((100 * s.memoryGiBHours) / hybrid.memoryGiBHours).toFixed(0)}%` : "",
  s.evictions.toFixed(0),
  s.displacedColdStarts.toFixed(0),
  s.memoryWaits.toFixed(0),
];

const rows = (r: KeepaliveExperimentResult) =>
  r.summary.map((s) => row(s, r.summary.find((h) => h.policy === "hybrid" && h.budgetGiB === s.budgetGiB)));

export const markdownTable = (r: KeepaliveExperimentResult): string =>
  [`| ${HEADERS.join(" | ")} |`, `|${HEADERS.map(() => "---").join("|")}|`, ...rows(r).map((cells) => `| ${cells.join(" | ")} |`)].join("\n");

/** Berth against the goal: fewer cold starts than hybrid at <= 80% of its memory-hours. */
export const goalVerdicts = (r: KeepaliveExperimentResult, policy = "berth"): string[] =>
  [...new Set(r.summary.map((s) => s.budgetGiB))].flatMap((budget) => {
    const b = r.summary.find((s) => s.policy === policy && s.budgetGiB === budget);
    const h = r.summary.find((s) => s.policy === "hybrid" && s.budgetGiB === budget);
    if (!b || !h) return [];
    const fewer = b.coldStarts < h.coldStarts;
    const share = b.memoryGiBHours / h.memoryGiBHours;
    const seeds = [...new Set(r.runs.filter((x) => x.budgetGiB === budget && x.policy === policy).map((x) => x.seed))];
    const met = seeds.filter((seed) => {
      const bs = r.runs.find((x) => x.budgetGiB === budget && x.policy === policy && x.seed === seed);
      const hs = r.runs.find((x) => x.budgetGiB === budget && x.policy === "hybrid" && x.seed === seed);
      return bs !== undefined && hs !== undefined && bs.coldStarts < hs.coldStarts && bs.memoryGiBHours <= 0.8 * hs.memoryGiBHours;
    });
    return [
      `${budget} GiB: ${policy} ${b.coldStarts.toFixed(0)} cold starts vs hybrid ${h.coldStarts.toFixed(0)} (${fewer ? "fewer" : "not fewer"}), ` +
        `${(100 * share).toFixed(0)}% of hybrid's memory-hours (${share <= 0.8 ? "<=" : ">"} 80%): goal ${fewer && share <= 0.8 ? "met" : "not met"} on the mean, ` +
        `met on ${met.length} of ${seeds.length} seeds${met.length > 0 && met.length < seeds.length ? ` (${met.join(", ")})` : ""}`,
    ];
  });

export const htmlReport = (r: KeepaliveExperimentResult, intro: string): string => {
  const budgets = [...new Set(r.summary.map((s) => s.budgetGiB))];
  const sections: Section[] = budgets.map((budget) => ({
    heading: `Budget ${budget} GiB`,
    body: chart({
      title: `Cold starts vs GPU-memory-hours (${budget} GiB, mean over seeds)`,
      xLabel: "GPU-memory GiB-hours",
      yLabel: "cold starts",
      markers: true,
      series: r.summary.filter((s) => s.budgetGiB === budget).map((s) => ({ name: s.policy, points: [[s.memoryGiBHours, s.coldStarts] as const] })),
    }),
  }));
  sections.push({ heading: "Goal", body: `<ul>${goalVerdicts(r).map((v) => `<li>${v.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</li>`).join("")}</ul>` });
  sections.push({ heading: "Results (mean over seeds)", body: table(HEADERS, rows(r)) });
  return page("Berth keep-alive experiment (Alibaba GenAI trace)", intro, sections);
};
