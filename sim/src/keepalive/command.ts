// `sim keepalive`: the keep-alive experiment from the command line.
//   keepalive [--trace FILE] [--latency FILE] [--policies a,b] [--seeds 42-46]
//             [--budget-gib N[,M...]] [--min-duration-s S] [--json OUT] [--html OUT]
// Exit 0 when it ran, 2 for bad arguments (with a message), 1 when the run failed.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runKeepaliveExperiment } from "./experiment.js";
import { defaultPolicyNames, simPolicy } from "./policies.js";
import { goalVerdicts, htmlReport, markdownTable } from "./report.js";
import { loadLoadLatencies, loadRequestTrace } from "./trace.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const dataDir = path.resolve(repoRoot, "../shared/data/alibaba-genai");

export const KEEPALIVE_USAGE = `usage: keepalive [--trace FILE] [--latency FILE] [--policies a,b] [--seeds 42-46] [--budget-gib N[,M...]] [--min-duration-s S] [--json OUT] [--html OUT]
  policies: ${defaultPolicyNames.join(", ")} (and berth@<minutes>m, berth-warm@<minutes>m: Berth with another break-even time)
  defaults: the Alibaba GenAI trace in ../shared/data/alibaba-genai, all policies, seeds 42-46, budget 640 GiB (8 x 80 GiB)`;

export interface KeepaliveArgs {
  readonly trace: string;
  readonly latency: string;
  readonly policies: readonly string[];
  readonly seeds: readonly number[];
  readonly budgetsGiB: readonly number[];
  readonly minimumDurationMs: number;
  readonly json?: string;
  readonly html?: string;
}

class UsageError extends Error {}

const parseSeeds = (v: string): number[] => {
  const out: number[] = [];
  for (const part of v.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`--seeds: expected N, N-M or a comma list, got ${JSON.stringify(v)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 1000) throw new UsageError(`--seeds: bad range ${part}`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
};

export const parseKeepaliveArgs = (argv: readonly string[]): KeepaliveArgs => {
  const opts = new Map<string, string>();
  const known = ["--trace", "--latency", "--policies", "--seeds", "--budget-gib", "--min-duration-s", "--json", "--html"];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (!known.includes(flag)) throw new UsageError(`unknown argument ${JSON.stringify(argv[i])}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new UsageError(`${flag} needs a value`);
    opts.set(flag, value);
  }
  const policies = (opts.get("--policies") ?? defaultPolicyNames.join(",")).split(",").map((p) => p.trim()).filter((p) => p !== "");
  const unknown = policies.filter((p) => simPolicy(p) === undefined);
  if (unknown.length > 0 || policies.length === 0) throw new UsageError(`--policies: unknown ${unknown.join(", ") || "(none given)"}`);
  const budgetsGiB = (opts.get("--budget-gib") ?? "640").split(",").map(Number);
  if (budgetsGiB.some((b) => !(b > 0) || !Number.isFinite(b))) throw new UsageError(`--budget-gib: expected positive numbers, got ${opts.get("--budget-gib")}`);
  const minDuration = Number(opts.get("--min-duration-s") ?? "0");
  if (!(minDuration >= 0)) throw new UsageError(`--min-duration-s: expected a number >= 0`);
  return {
    trace: opts.get("--trace") ?? path.join(dataDir, "lora_request_trace.csv"),
    latency: opts.get("--latency") ?? path.join(dataDir, "basemodel_update_latency_anon.csv"),
    policies,
    seeds: parseSeeds(opts.get("--seeds") ?? "42-46"),
    budgetsGiB,
    minimumDurationMs: minDuration * 1000,
    json: opts.get("--json"),
    html: opts.get("--html"),
  };
};

const write = async (file: string, text: string) => {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, text);
};

export async function runKeepaliveCommand(argv: string[]): Promise<number> {
  let args: KeepaliveArgs;
  try {
    args = parseKeepaliveArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`keepalive: ${e.message}\n${KEEPALIVE_USAGE}`);
    return 2;
  }
  try {
    const [trace, latencies] = await Promise.all([loadRequestTrace(args.trace), loadLoadLatencies(args.latency)]);
    const started = performance.now();
    const result = runKeepaliveExperiment(trace, latencies, {
      policies: args.policies, seeds: args.seeds, budgetsGiB: args.budgetsGiB, minimumDuration: args.minimumDurationMs,
    });
    const intro =
      `${trace.requests.length} requests to ${trace.models.length} base models (${trace.unattributed} rows without a model skipped), ` +
      `seeds ${args.seeds.join(",")}, pooled GPU-memory budget(s) ${args.budgetsGiB.join(", ")} GiB; model memory drawn log-normal ` +
      `(median 23 GiB, max 47 GiB), load times drawn from ${latencies.length} measured loads. TTFI = arrival to start of inference.`;
    console.log(intro);
    console.log(markdownTable(result));
    for (const v of goalVerdicts(result)) console.log(v);
    if (args.json) await write(args.json, JSON.stringify({ args, intro, ...result }, null, 1));
    if (args.html) await write(args.html, htmlReport(result, intro));
    console.log(`${result.runs.length} runs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (e) {
    console.error(`keepalive: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
