import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Either } from "effect";
import { expand } from "../scenario/experiment.js";
import { parseScenario, type Problem } from "../scenario/load.js";
import { loadMeasuredData } from "../scenario/resolve.js";
import { scenarioPolicyProblems } from "../run/core-decider.js";
import { runScenario } from "../run/run-scenario.js";
import { summaryText, writeRunHtml, writeRunJson } from "../run/report.js";
import { writeExperimentReport } from "../run/experiment-report.js";
import type { RunResult } from "../run/result.js";
import { defaultOutDir, ExitCode, UsageError } from "./common.js";

export const RUN_HELP = `Usage: npm run sim -- run SCENARIO.yaml [options]

Runs a scenario through the simulator (the core's decide, a simulated backend) and writes
a JSON result and a self-contained HTML report. A scenario with an \`experiment\` section
runs every combination of its policies x seeds x workloads and adds a comparison page.

Options:
  --json FILE     where to write the JSON result (default sim/out/<scenario>.json)
  --html FILE     where to write the HTML report (default sim/out/<scenario>.html)
  --out DIR       folder for the default outputs (default sim/out)
  --seed N        run with this seed only (overrides the scenario's seed and seed sweep)
  --trace N       decided events kept in the trace (default 500)
  --quiet         print only the output paths
  -h, --help      this help

Exit codes: 0 ok, 2 usage error or invalid scenario (each problem printed with its path), 1 failure.`;

const printProblems = (file: string, problems: readonly Problem[]): void => {
  console.error(`${file}: invalid scenario (${problems.length} problem${problems.length === 1 ? "" : "s"})`);
  for (const p of problems) console.error(`  ${p.path || "(top)"}: ${p.message}`);
};

const safe = (id: string): string => id.replace(/[^A-Za-z0-9._-]+/g, "_");

export const runRunCommand = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      json: { type: "string" }, html: { type: "string" }, out: { type: "string" }, seed: { type: "string" },
      trace: { type: "string" }, quiet: { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) { console.log(RUN_HELP); return ExitCode.ok; }
  if (positionals.length !== 1) throw new UsageError(`run takes exactly one scenario file, got ${positionals.length}`, RUN_HELP);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a whole number, got ${values.seed}`, RUN_HELP);
  const traceLimit = values.trace === undefined ? undefined : Number(values.trace);
  if (traceLimit !== undefined && !(Number.isSafeInteger(traceLimit) && traceLimit >= 0)) throw new UsageError(`--trace must be a whole number, got ${values.trace}`, RUN_HELP);

  const file = positionals[0];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    console.error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return ExitCode.usage;
  }
  const parsed = parseScenario(text);
  if (Either.isLeft(parsed)) { printProblems(file, parsed.left); return ExitCode.usage; }
  let scenario = parsed.right;
  if (seed !== undefined) scenario = { ...scenario, seed, experiment: scenario.experiment && { ...scenario.experiment, seeds: [seed] } };
  const policyProblems = scenarioPolicyProblems(scenario);
  if (policyProblems.length > 0) { printProblems(file, policyProblems); return ExitCode.usage; }
  const { data: measured, problems } = loadMeasuredData(scenario);
  if (problems.length > 0) { printProblems(file, problems); return ExitCode.usage; }

  const outDir = resolve(values.out ?? defaultOutDir());
  const runs = expand(scenario);
  const log = (line: string) => { if (!values.quiet) console.log(line); };
  if (runs.length === 1) {
    const result = runScenario(runs[0].scenario, { measured, traceLimit });
    const json = resolve(values.json ?? `${outDir}/${scenario.name}.json`);
    const html = resolve(values.html ?? `${outDir}/${scenario.name}.html`);
    writeRunJson(result, json);
    writeRunHtml(result, html);
    log(summaryText(result));
    console.log(`wrote ${json}\nwrote ${html}`);
    return ExitCode.ok;
  }
  const results: { readonly id: string; readonly result: RunResult }[] = [];
  for (const [i, run] of runs.entries()) {
    const result = runScenario(run.scenario, { measured, traceLimit });
    const base = `${outDir}/${scenario.name}/${safe(run.id.slice(scenario.name.length + 1))}`;
    writeRunJson(result, `${base}.json`);
    writeRunHtml(result, `${base}.html`);
    results.push({ id: run.id, result });
    log(`[${i + 1}/${runs.length}] ${run.id}: ready ${result.leases.ready}/${result.leases.requested}, failed ${result.leases.failed}, time to Ready p50 ${(result.timeToReady.p50 / 1000).toFixed(1)} s (${result.wallMs.toFixed(0)} ms)`);
  }
  const json = resolve(values.json ?? `${outDir}/${scenario.name}.json`);
  const html = resolve(values.html ?? `${outDir}/${scenario.name}.html`);
  writeExperimentReport(scenario, runs, results.map((r) => r.result), json, html);
  console.log(`wrote ${json}\nwrote ${html}\nwrote ${runs.length} runs under ${outDir}/${scenario.name}/`);
  return ExitCode.ok;
};
