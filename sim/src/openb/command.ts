// `berth-sim openb`: the FGD paper's packing experiment on the openb traces.
//   openb [--nodes FILE] [--pods FILE|--trace NAME] [--policies a,b] [--seeds 42-51] [--json OUT] [--html OUT] [--workers N]
// Exit codes: 0 done, 2 bad arguments, 1 failure.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { ARRIVAL_RATIO, type CellTask } from "./experiment.js";
import { defaultNodeFile, OPENB_TRACES, podFileOf } from "./files.js";
import { DEFAULT_PACKING_POLICIES, KNOWN_POLICIES, knownPolicy } from "./policies.js";
import { runCells } from "./pool.js";
import { reportHtml, summarise, type ExperimentSummary } from "./summary.js";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const OPENB_USAGE = `usage: openb [--nodes FILE] [--pods FILE | --trace ${OPENB_TRACES.join("|")}] [--policies ${DEFAULT_PACKING_POLICIES.join(",")}]
             [--seeds 42-51 | 42,43] [--json OUT] [--html OUT] [--workers 2]`;

export interface OpenbArgs {
  readonly nodes: string;
  readonly pods: string;
  readonly policies: string[];
  readonly seeds: number[];
  readonly json?: string;
  readonly html?: string;
  readonly workers: number;
}

export const parseSeeds = (text: string): number[] => {
  const seeds: number[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) throw new UsageError(`--seeds: ${JSON.stringify(part)} is not N or N-M`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UsageError(`--seeds: ${part} runs backwards`);
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  if (seeds.length === 0) throw new UsageError("--seeds: no seeds");
  return seeds;
};

export const parseOpenbArgs = (argv: readonly string[]): OpenbArgs => {
  const values = new Map<string, string>();
  const flags = new Set(["--nodes", "--pods", "--trace", "--policies", "--seeds", "--json", "--html", "--workers"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const [flag, inline] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (!flags.has(flag)) throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new UsageError(`${flag} needs a value`);
    values.set(flag, value);
  }
  if (values.has("--pods") && values.has("--trace")) throw new UsageError("give --pods or --trace, not both");
  const trace = values.get("--trace");
  if (trace !== undefined && !(OPENB_TRACES as readonly string[]).includes(trace)) {
    throw new UsageError(`--trace: unknown trace ${JSON.stringify(trace)}; known: ${OPENB_TRACES.join(", ")}`);
  }
  const policies = (values.get("--policies") ?? DEFAULT_PACKING_POLICIES.join(",")).split(",").map((p) => p.trim()).filter((p) => p !== "");
  const unknown = policies.filter((p) => !knownPolicy(p));
  if (unknown.length > 0) throw new UsageError(`--policies: unknown ${unknown.join(", ")}; known: ${KNOWN_POLICIES.join(", ")}`);
  if (policies.length === 0) throw new UsageError("--policies: no policies");
  const workers = Number(values.get("--workers") ?? 2);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError("--workers must be a positive integer");
  return {
    nodes: values.get("--nodes") ?? defaultNodeFile(),
    pods: values.get("--pods") ?? podFileOf(trace ?? "default"),
    policies: [...new Set(policies)],
    seeds: parseSeeds(values.get("--seeds") ?? "42-51"),
    ...(values.has("--json") ? { json: values.get("--json") } : {}),
    ...(values.has("--html") ? { html: values.get("--html") } : {}),
    workers,
  };
};

export const runOpenbExperiment = async (args: OpenbArgs): Promise<ExperimentSummary> => {
  const tasks: CellTask[] = args.policies.flatMap((policy) => args.seeds.map((seed) => ({ nodesFile: args.nodes, podsFile: args.pods, policy, seed })));
  const results = await runCells(tasks, args.workers);
  return { nodes: args.nodes, pods: args.pods, arrivalRatio: ARRIVAL_RATIO, policies: summarise(args.policies, results) };
};

const write = (file: string, text: string): void => {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
};

export async function runOpenbCommand(argv: string[]): Promise<number> {
  let args: OpenbArgs;
  try {
    args = parseOpenbArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`openb: ${e.message}\n${OPENB_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  try {
    const t0 = performance.now();
    const summary = await runOpenbExperiment(args);
    const seconds = (performance.now() - t0) / 1000;
    const lines = summary.policies.map(
      (p) => `${p.policy.padEnd(14)} ${p.at100.toFixed(2).padStart(6)} ${p.at130.toFixed(2).padStart(6)} ${String(p.placementsPerSecond).padStart(9)}`,
    );
    process.stdout.write(
      `openb: ${path.basename(args.pods)} on ${path.basename(args.nodes)}, seeds ${args.seeds[0]}..${args.seeds[args.seeds.length - 1]}\n` +
        `${"policy".padEnd(14)} ${"@100%".padStart(6)} ${"@130%".padStart(6)} ${"placed/s".padStart(9)}\n${lines.join("\n")}\n` +
        `(${args.policies.length} policies x ${args.seeds.length} seeds in ${seconds.toFixed(1)} s on ${args.workers} worker(s))\n`,
    );
    if (args.json !== undefined) write(args.json, `${JSON.stringify({ ...summary, seconds: Math.round(seconds * 10) / 10 }, null, 2)}\n`);
    if (args.html !== undefined) write(args.html, reportHtml(summary));
    return 0;
  } catch (e) {
    process.stderr.write(`openb: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
