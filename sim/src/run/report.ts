import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { chart, page, table, type Section } from "../report/index.js";
import { policyLabel } from "../scenario/experiment.js";
import type { RunResult } from "./result.js";

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

/** The headline figures of a run as rows (shared by the HTML report and the CLI summary). */
export const summaryRows = (r: RunResult): [string, string | number][] => [
  ["policies", policyLabel(r.policies)],
  ["seed", r.seed],
  ["simulated time (s)", seconds(r.duration)],
  ["leases requested", r.leases.requested],
  ["leases Ready (ever)", r.leases.ready],
  ["leases Failed", `${r.leases.failed}${Object.keys(r.leases.failuresByCode).length ? ` (${Object.entries(r.leases.failuresByCode).map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}`],
  ["leases Released", r.leases.released],
  ["leases still waiting at the end", r.leases.waitingAtEnd],
  ["time to Ready p50 / p99 (s)", `${seconds(r.timeToReady.p50)} / ${seconds(r.timeToReady.p99)}`],
  ["cold loads / warm loads", `${r.backend.coldLoads} / ${r.backend.warmLoads}`],
  ["requests served / waited for a load", `${r.requests.served} / ${r.requests.waited}`],
  ["evictions", r.decisions.evictions],
  ["servers created / deleted", `${r.backend.serversCreated} / ${r.backend.serversDeleted}`],
  ["server crashes / nodes lost", `${r.backend.serverCrashes} / ${r.backend.nodesLost}`],
  ["GPU memory held (GiB-hours)", r.gpuMemoryGiBHours.toFixed(2)],
  ["decisions recorded", r.decisions.total],
  ["events / decide calls", `${r.events} / ${r.decideCalls}`],
  ["wall time (ms) / events per second", `${r.wallMs.toFixed(0)} / ${Math.round(r.eventsPerSecond)}`],
];

/** A self-contained HTML page for one run: headline table, charts over time, the last decisions. */
export const renderRunHtml = (r: RunResult): string => {
  const s = r.samples;
  const sections: Section[] = [
    { heading: "Summary", body: table(["figure", "value"], summaryRows(r)) },
    {
      heading: "GPU allocation over time",
      body: chart({
        title: "Committed GPU share (physical) and GPU memory (physical, and as decide plans it)",
        xLabel: "simulated time (s)",
        yLabel: "fraction of Ready nodes' GPUs",
        yMin: 0,
        yMax: 1,
        series: [
          { name: "GPU (milli) allocated", points: s.map((x) => [x.t, x.gpuAllocation]) },
          { name: "GPU memory allocated", points: s.map((x) => [x.t, x.gpuMemoryAllocation]) },
          { name: "GPU memory planned", points: s.map((x) => [x.t, x.plannedGpuMemory]) },
        ],
      }),
    },
    {
      heading: "Leases and servers over time",
      body: chart({
        title: "Leases Ready and waiting; servers and replicas",
        xLabel: "simulated time (s)",
        yLabel: "count",
        yMin: 0,
        series: [
          { name: "leases Ready", points: s.map((x) => [x.t, x.leasesReady]) },
          { name: "leases waiting", points: s.map((x) => [x.t, x.leasesWaiting]) },
          { name: "servers", points: s.map((x) => [x.t, x.servers]) },
          { name: "replicas", points: s.map((x) => [x.t, x.replicas]) },
          { name: "nodes Ready", points: s.map((x) => [x.t, x.nodesReady]) },
        ],
      }),
    },
    {
      heading: "Time to Ready",
      body: table(["count", "mean (s)", "p50 (s)", "p90 (s)", "p99 (s)", "max (s)"], [[
        r.timeToReady.count, seconds(r.timeToReady.mean), seconds(r.timeToReady.p50), seconds(r.timeToReady.p90), seconds(r.timeToReady.p99), seconds(r.timeToReady.max),
      ]]),
    },
    {
      heading: "Decisions by kind and outcome",
      body: table(["decision", "count"], Object.entries(r.decisions.byKindOutcome).sort()),
    },
  ];
  if (Object.keys(r.rejections).length > 0) {
    sections.push({ heading: "Events decide refused", body: table(["event: code", "count"], Object.entries(r.rejections).sort()) });
  }
  sections.push({
    heading: `Last decided events (${r.trace.length}${r.traceDropped ? `, ${r.traceDropped} earlier ones not kept` : ""})`,
    body: table(["#", "t (s)", "event", "intents", "phase changes", "refused"], r.trace.slice(-200).map((e) => [
      e.seq, seconds(e.at), e.event, e.intents.join("; "), e.changes.join("; "), e.rejections.join("; "),
    ])),
  });
  return page(`Berth simulation: ${r.scenario}`, r.description || `Seed ${r.seed}`, sections);
};

const write = (path: string, text: string): void => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};

export const writeRunJson = (r: RunResult, path: string): void => write(path, `${JSON.stringify(r, null, 2)}\n`);
export const writeRunHtml = (r: RunResult, path: string): void => write(path, renderRunHtml(r));

/** Plain-text summary for the terminal. */
export const summaryText = (r: RunResult): string => {
  const rows = summaryRows(r);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`${r.scenario} (seed ${r.seed})`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join("\n");
};
