// Activity from the server's statistics extension: per model, the inferences and executions
// since the previous report (the counters are cumulative; a reload or a server restart resets
// them, and a drop is read as "counting from zero again") and the last inference time.
import type { ModelActivity } from "@berth/api/sidecar";
import type { ServerClient } from "./server-client.js";

interface Counters {
  readonly inferences: number;
  readonly executions: number;
}

export class ActivityTracker {
  private readonly last = new Map<string, Counters>();

  constructor(
    private readonly server: ServerClient,
    /** The models to report on (those the sidecar loaded). */
    private readonly models: () => readonly string[],
  ) {}

  /** The models with activity since the previous call; rejects when the server cannot be asked. */
  async poll(): Promise<ModelActivity[]> {
    const stats = await this.server.stats();
    const ours = new Set(this.models());
    const now = new Map<string, Counters & { lastInferenceMs: number }>();
    for (const s of stats) {
      if (!ours.has(s.name)) continue;
      const prev = now.get(s.name) ?? { inferences: 0, executions: 0, lastInferenceMs: 0 };
      now.set(s.name, {
        inferences: prev.inferences + s.inferenceCount,
        executions: prev.executions + s.executionCount,
        lastInferenceMs: Math.max(prev.lastInferenceMs, s.lastInferenceMs),
      });
    }
    const out: ModelActivity[] = [];
    for (const [model, c] of now) {
      const before = this.last.get(model) ?? { inferences: 0, executions: 0 };
      const reset = c.inferences < before.inferences || c.executions < before.executions;
      const inferences = reset ? c.inferences : c.inferences - before.inferences;
      const executions = reset ? c.executions : c.executions - before.executions;
      if (inferences > 0 || executions > 0) {
        out.push({ model, inference_count_delta: inferences, execution_count_delta: executions, last_inference_ms: c.lastInferenceMs });
      }
    }
    this.last.clear();
    for (const [model, c] of now) this.last.set(model, { inferences: c.inferences, executions: c.executions });
    return out.sort((a, b) => (a.model < b.model ? -1 : 1));
  }
}
