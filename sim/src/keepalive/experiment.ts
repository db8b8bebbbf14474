// The keep-alive experiment: every (budget, policy, seed) run of `simulateKeepalive`, and the
// mean over seeds. Seeds fix the drawn model sizes and the sequence of load times, so every
// policy sees the same models for a given seed.
import { GiB, type Bytes, type DurationMs } from "@berth/core/units";
import { rngFromSeed } from "@berth/core/random/rng";
import { drawModelSizes, loadTimeSampler, median } from "./models.js";
import { simPolicy } from "./policies.js";
import { simulateKeepalive, type KeepaliveRunResult } from "./simulate.js";
import type { GenaiTrace } from "./trace.js";

export interface KeepaliveExperiment {
  readonly policies: readonly string[];
  readonly seeds: readonly number[];
  readonly budgetsGiB: readonly number[];
  readonly minimumDuration?: DurationMs;
}

export type KeepaliveSummary = Omit<KeepaliveRunResult, "modes"> & { readonly seeds: number; readonly coldStartsMin: number; readonly coldStartsMax: number };

export interface KeepaliveExperimentResult {
  readonly runs: readonly (KeepaliveRunResult & { readonly seed: number })[];
  /** Mean over seeds, per budget and policy, in the order asked. */
  readonly summary: readonly KeepaliveSummary[];
}

/** A separate stream for load times, so the size draws do not shift them. */
const loadSeed = (seed: number): number => (Math.imul(seed, 2654435761) ^ 0x5bd1e995) >>> 0;

export const modelSizesFor = (trace: GenaiTrace, seed: number): Bytes[] => drawModelSizes(trace.models.length, rngFromSeed(seed));

export const runOne = (trace: GenaiTrace, latencies: readonly DurationMs[], policy: string, seed: number, budgetGiB: number, minimumDuration = 0) => {
  const made = simPolicy(policy);
  if (!made) throw new RangeError(`unknown policy ${JSON.stringify(policy)}`);
  return simulateKeepalive(trace, {
    policy: made,
    budget: budgetGiB * GiB,
    sizes: modelSizesFor(trace, seed),
    drawLoadTime: loadTimeSampler(latencies, rngFromSeed(loadSeed(seed))),
    defaultLoadTime: median(latencies),
    minimumDuration,
  });
};

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const runKeepaliveExperiment = (trace: GenaiTrace, latencies: readonly DurationMs[], e: KeepaliveExperiment): KeepaliveExperimentResult => {
  const runs: (KeepaliveRunResult & { seed: number })[] = [];
  const summary: KeepaliveSummary[] = [];
  for (const budgetGiB of e.budgetsGiB) {
    for (const policy of e.policies) {
      const mine = e.seeds.map((seed) => ({ ...runOne(trace, latencies, policy, seed, budgetGiB, e.minimumDuration), seed }));
      runs.push(...mine);
      const avg = (f: (r: KeepaliveRunResult) => number) => mean(mine.map(f));
      summary.push({
        policy, budgetGiB, seeds: mine.length, requests: mine[0].requests,
        coldStarts: avg((r) => r.coldStarts),
        coldStartsMin: Math.min(...mine.map((r) => r.coldStarts)),
        coldStartsMax: Math.max(...mine.map((r) => r.coldStarts)),
        loads: avg((r) => r.loads), prewarmLoads: avg((r) => r.prewarmLoads), evictions: avg((r) => r.evictions),
        expiries: avg((r) => r.expiries), memoryWaits: avg((r) => r.memoryWaits), displacedColdStarts: avg((r) => r.displacedColdStarts),
        ttfiP50Ms: avg((r) => r.ttfiP50Ms), ttfiP99Ms: avg((r) => r.ttfiP99Ms), ttfiMeanMs: avg((r) => r.ttfiMeanMs),
        memoryGiBHours: avg((r) => r.memoryGiBHours), peakMemoryGiB: avg((r) => r.peakMemoryGiB), hours: avg((r) => r.hours),
      });
    }
  }
  return { runs, summary };
};
