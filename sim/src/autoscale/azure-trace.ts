import { readFileSync } from "node:fs";
import { sharedDataPath } from "../workload/shared-data.js";

// The Azure LLM inference trace (code), 2023: one row per request with its arrival time and
// token counts. Parsing is separate from reading so tests can parse text they hold.

export const AZURE_CODE_TRACE = "azure-llm/AzureLLMInferenceTrace_code.csv";

export interface LlmRequest {
  /** Arrival, milliseconds after the trace's first request. */
  readonly atMs: number;
  readonly contextTokens: number;
  readonly generatedTokens: number;
}

export class AzureTraceError extends Error {
  override readonly name = "AzureTraceError";
}

// `2023-11-16 18:17:03.9799600`: seven fractional digits, no zone (the trace is in UTC).
const STAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/;

export const parseTimestampMs = (text: string): number | undefined => {
  const m = STAMP.exec(text.trim());
  if (!m) return undefined;
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + fraction * 1000;
};

/** Requests in arrival order, times relative to the earliest. */
export const parseAzureTrace = (text: string, source = "azure trace"): LlmRequest[] => {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new AzureTraceError(`${source}: empty file`);
  const header = lines[0].split(",").map((h) => h.trim());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new AzureTraceError(`${source}: missing column ${name} (have ${header.join(",")})`);
    return i;
  };
  const [ts, ctx, gen] = [col("TIMESTAMP"), col("ContextTokens"), col("GeneratedTokens")];
  const raw = lines.slice(1).map((line, i) => {
    const cells = line.split(",");
    const at = parseTimestampMs(cells[ts] ?? "");
    const c = Number(cells[ctx]);
    const g = Number(cells[gen]);
    if (at === undefined) throw new AzureTraceError(`${source}:${i + 2}: bad TIMESTAMP ${JSON.stringify(cells[ts])}`);
    if (!Number.isInteger(c) || c < 0 || !Number.isInteger(g) || g < 0) {
      throw new AzureTraceError(`${source}:${i + 2}: token counts must be non-negative integers`);
    }
    return { at, contextTokens: c, generatedTokens: g };
  });
  raw.sort((a, b) => a.at - b.at);
  const t0 = raw.length > 0 ? raw[0].at : 0;
  return raw.map((r) => ({ atMs: r.at - t0, contextTokens: r.contextTokens, generatedTokens: r.generatedTokens }));
};

/** Reads the trace from `file`, or from the shared data folder. */
export const loadAzureTrace = (file: string = sharedDataPath(AZURE_CODE_TRACE)): LlmRequest[] =>
  parseAzureTrace(readFileSync(file, "utf8"), file);
