import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { isAutoscalerPolicyName } from "@berth/core/autoscaler/registry";
import type { AutoscalerPolicyName } from "@berth/core/spec/types";
import { loadAzureTrace } from "./azure-trace.js";
import { defaultAutoscaleSettings, runAutoscaleExperiment, type AutoscaleSettings } from "./experiment.js";
import { autoscaleHtml, markdownTable } from "./report.js";

// `sim autoscale`: HPA (Kubernetes defaults) vs Berth's autoscaler on the Azure LLM code trace.
// Exit 0 on success, 2 on bad arguments, 1 on failure.

export const AUTOSCALE_USAGE =
  "usage: autoscale [--trace FILE] [--policies hpa,berth] [--seeds 42-46] [--startup 45s] [--slo 2s] [--max-replicas 30] [--json OUT] [--html OUT]";

class UsageError extends Error {}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000 };

/** `45s`, `500ms`, `1m`; a bare number is seconds. */
export const parseCliDuration = (text: string): number | undefined => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? "s"] : undefined;
};

export const parseSeeds = (text: string): number[] => {
  const seeds: number[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UsageError(`bad seeds ${JSON.stringify(text)} (expected e.g. 42-46 or 42,43)`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a || b - a > 1000) throw new UsageError(`bad seed range ${part}`);
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  return seeds;
};

interface Parsed {
  readonly trace?: string;
  readonly json?: string;
  readonly html?: string;
  readonly settings: AutoscaleSettings;
}

export const parseAutoscaleArgs = (argv: readonly string[]): Parsed => {
  let settings: AutoscaleSettings = defaultAutoscaleSettings;
  let trace: string | undefined;
  let json: string | undefined;
  let html: string | undefined;
  const duration = (flag: string, v: string): number => {
    const ms = parseCliDuration(v);
    if (ms === undefined || !(ms > 0)) throw new UsageError(`${flag}: expected a duration like 45s, got ${JSON.stringify(v)}`);
    return ms;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--trace": trace = value(); break;
      case "--json": json = value(); break;
      case "--html": html = value(); break;
      case "--policies": {
        const names = value().split(",").map((s) => s.trim()).filter((s) => s !== "");
        const bad = names.filter((n) => !isAutoscalerPolicyName(n));
        if (names.length === 0 || bad.length > 0) throw new UsageError(`unknown policy ${bad.join(", ") || "(none)"}; known: hpa, berth`);
        settings = { ...settings, policies: names as AutoscalerPolicyName[] };
        break;
      }
      case "--seeds": settings = { ...settings, seeds: parseSeeds(value()) }; break;
      case "--startup": settings = { ...settings, startupMs: duration(flag, value()) }; break;
      case "--slo": settings = { ...settings, sloMs: duration(flag, value()) }; break;
      case "--max-replicas": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < settings.minReplicas) throw new UsageError(`--max-replicas: expected an integer >= ${settings.minReplicas}`);
        settings = { ...settings, maxReplicas: n };
        break;
      }
      default: throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  return { trace, json, html, settings };
};

const write = (file: string, text: string): void => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
};

export async function runAutoscaleCommand(argv: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseAutoscaleArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`autoscale: ${e.message}\n${AUTOSCALE_USAGE}`);
      return 2;
    }
    throw e;
  }
  try {
    const trace = parsed.trace === undefined ? loadAzureTrace() : loadAzureTrace(parsed.trace);
    const report = runAutoscaleExperiment(trace, parsed.settings);
    const s = parsed.settings;
    console.log(`autoscale: ${trace.length} requests, start-up ${s.startupMs / 1000} s, SLO queue time ${s.sloMs / 1000} s, seeds ${s.seeds.join(",")}`);
    console.log(markdownTable(report));
    if (parsed.json !== undefined) write(parsed.json, JSON.stringify({ settings: report.settings, runs: report.runs, summary: report.summary, series: report.series }, null, 1));
    if (parsed.html !== undefined) write(parsed.html, autoscaleHtml(report));
    return 0;
  } catch (e) {
    console.error(`autoscale: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
