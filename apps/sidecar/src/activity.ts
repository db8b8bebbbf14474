// Activity from the server's statistics extension: per model, the inferences and executions
// since the previous report (the counters are cumulative; a reload or a server restart resets
// them, and a drop is read as "counting from zero again"), the last inference time, and the
// server's metrics over the same interval (queue time, completions, in-flight; server-metrics.ts).
// One statistics read serves both.
import type { ModelActivity } from "@berth/api/sidecar";
import type { ServerClient } from "./server-client.js";
import { readModelCounters, ServerMetricsTracker, type ModelCounters } from "./server-metrics.js";

interface Counters {
  readonly inferences: number;
  readonly executions: number;
}

export interface ActivityTrackerOptions {
  /** The sidecar's clock, for the metrics' intervals (default: Date.now). */
  readonly now?: () => number;
  /** The statistics read (default: GET /v2/models/stats on the server). */
  readonly read?: () => Promise<ModelCounters[]>;
}

export class ActivityTracker {
  private readonly last = new Map<string, Counters>();
  private readonly metrics = new ServerMetricsTracker();
  private readonly now: () => number;
  private readonly read: () => Promise<ModelCounters[]>;

  constructor(
    server: ServerClient,
    /** The models to report on (those the sidecar loaded). */
    private readonly models: () => readonly string[],
    options: ActivityTrackerOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.read = options.read ?? (() => readModelCounters(server.baseUrl));
  }

  /**
   * The models with activity since the previous call, and every model of ours with metrics
   * (idle ones too, with zero deltas: "no load" is a measurement); rejects when the server
   * cannot be asked.
   */
  async poll(): Promise<ModelActivity[]> {
    const counters = await this.read();
    // Every model's counters get a baseline, ours or not yet: one the sidecar adopts later
    // must not report its whole history as one interval.
    const metrics = this.metrics.observe(counters, this.now());
    const ours = new Set(this.models());
    const out: ModelActivity[] = [];
    for (const c of counters) {
      if (!ours.has(c.model)) continue;
      const before = this.last.get(c.model) ?? { inferences: 0, executions: 0 };
      const reset = c.inferenceCount < before.inferences || c.executionCount < before.executions;
      const inferences = reset ? c.inferenceCount : c.inferenceCount - before.inferences;
      const executions = reset ? c.executionCount : c.executionCount - before.executions;
      const m = metrics.get(c.model);
      if (inferences > 0 || executions > 0 || m !== undefined) {
        out.push({
          model: c.model,
          inference_count_delta: inferences,
          execution_count_delta: executions,
          last_inference_ms: c.lastInferenceMs,
          ...(m === undefined ? {} : { metrics: m }),
        });
      }
    }
    this.last.clear();
    for (const c of counters) if (ours.has(c.model)) this.last.set(c.model, { inferences: c.inferenceCount, executions: c.executionCount });
    return out.sort((a, b) => (a.model < b.model ? -1 : 1));
  }
}
