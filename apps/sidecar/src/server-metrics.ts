// The server's load per model, from its statistics extension (GET /v2/models/stats): Triton
// and berth-model-server both keep cumulative counts and nanoseconds per model version in
// `inference_stats` (success, fail, queue, compute_input/infer/output). The sidecar reads them
// every activity period and reports the deltas (ModelMetrics in sidecar.proto), from which
// berthd derives the autoscaling metrics:
//   rps        = requests completed / interval
//   queue_time = Δqueue.ns / Δqueue.count (ms): mean queue time of the requests completed in the interval
//   inflight   = Δ(queue + compute).ns / interval: mean concurrent requests (Little's law)
// The statistics API rather than /metrics: Triton's Prometheus endpoint is optional (off with
// --allow-metrics=false, on another port) and rounds to microseconds; the statistics API is
// always there beside the repository API the sidecar already uses.
import { Either, Schema } from "effect";
import type { ModelMetrics } from "@berth/api/sidecar";
import { ServerError } from "./server-client.js";

/** uint64 counters: JSON numbers, or strings from servers that keep 64-bit precision. */
const Counter = Schema.Union(Schema.Number, Schema.NumberFromString);
const optionalCounter = Schema.optionalWith(Counter, { default: () => 0 });
const StatDuration = Schema.Struct({ count: optionalCounter, ns: optionalCounter });
const zeroDuration = () => ({ count: 0, ns: 0 });
const optionalDuration = Schema.optionalWith(StatDuration, { default: zeroDuration });

const VersionStatsJson = Schema.Struct({
  name: Schema.String,
  version: Schema.optionalWith(Schema.String, { default: () => "" }),
  last_inference: optionalCounter,
  inference_count: optionalCounter,
  execution_count: optionalCounter,
  inference_stats: Schema.optionalWith(
    Schema.Struct({
      success: optionalDuration,
      fail: optionalDuration,
      queue: optionalDuration,
      compute_input: optionalDuration,
      compute_infer: optionalDuration,
      compute_output: optionalDuration,
    }),
    { default: () => ({ success: zeroDuration(), fail: zeroDuration(), queue: zeroDuration(), compute_input: zeroDuration(), compute_infer: zeroDuration(), compute_output: zeroDuration() }) },
  ),
});
const StatsJson = Schema.Struct({ model_stats: Schema.optionalWith(Schema.Array(VersionStatsJson), { default: () => [] }) });
const decodeStats = Schema.decodeUnknownEither(StatsJson);

/** One model's cumulative counters, summed over its loaded versions. */
export interface ModelCounters {
  readonly model: string;
  readonly inferenceCount: number;
  readonly executionCount: number;
  /** Milliseconds since the epoch; 0 = never. */
  readonly lastInferenceMs: number;
  readonly successCount: number;
  readonly failCount: number;
  readonly queueCount: number;
  readonly queueNs: number;
  /** compute_input + compute_infer + compute_output. */
  readonly computeNs: number;
}

const zeroCounters = (model: string): ModelCounters => ({
  model,
  inferenceCount: 0,
  executionCount: 0,
  lastInferenceMs: 0,
  successCount: 0,
  failCount: 0,
  queueCount: 0,
  queueNs: 0,
  computeNs: 0,
});

/** The statistics response, per model (versions summed); throws ServerError on a shape the sidecar cannot read. */
export function modelCountersFromJson(json: unknown): ModelCounters[] {
  const decoded = decodeStats(json);
  if (Either.isLeft(decoded)) throw new ServerError({ reason: "Rejected", message: `unreadable statistics: ${decoded.left.message}` });
  const byModel = new Map<string, ModelCounters>();
  for (const v of decoded.right.model_stats) {
    const c = byModel.get(v.name) ?? zeroCounters(v.name);
    const s = v.inference_stats;
    byModel.set(v.name, {
      model: v.name,
      inferenceCount: c.inferenceCount + v.inference_count,
      executionCount: c.executionCount + v.execution_count,
      lastInferenceMs: Math.max(c.lastInferenceMs, v.last_inference),
      successCount: c.successCount + s.success.count,
      failCount: c.failCount + s.fail.count,
      queueCount: c.queueCount + s.queue.count,
      queueNs: c.queueNs + s.queue.ns,
      computeNs: c.computeNs + s.compute_input.ns + s.compute_infer.ns + s.compute_output.ns,
    });
  }
  return [...byModel.values()];
}

const REQUEST_TIMEOUT_MS = 5000;

/** GET /v2/models/stats on the server at `baseUrl` (as ServerClient.baseUrl gives it). */
export async function readModelCounters(baseUrl: string): Promise<ModelCounters[]> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/v2/models/stats`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new ServerError({ reason: "Unreachable", message: `GET ${baseUrl}/v2/models/stats: ${cause?.code ?? cause?.message ?? (e as Error).message}` });
  }
  if (!res.ok) throw new ServerError({ reason: "Rejected", status: res.status, message: (await res.text().catch(() => "")) || `HTTP ${res.status}` });
  return modelCountersFromJson(await res.json());
}

/** A counter that went down means the server counts from zero again (restart, reload). */
export const countersReset = (before: ModelCounters, now: ModelCounters): boolean =>
  now.inferenceCount < before.inferenceCount ||
  now.executionCount < before.executionCount ||
  now.successCount < before.successCount ||
  now.failCount < before.failCount ||
  now.queueCount < before.queueCount ||
  now.queueNs < before.queueNs ||
  now.computeNs < before.computeNs;

/**
 * The metrics of one model over `intervalMs`, from the counters at its start (`before`; zeros
 * when the model appeared since) and at its end. After a reset the end counters are the deltas.
 */
export function modelMetrics(before: ModelCounters, now: ModelCounters, intervalMs: number): ModelMetrics {
  const reset = countersReset(before, now);
  const base = reset ? zeroCounters(now.model) : before;
  const completed = now.successCount - base.successCount;
  const queueCount = now.queueCount - base.queueCount;
  const queueNs = now.queueNs - base.queueNs;
  const computeNs = now.computeNs - base.computeNs;
  const intervalNs = intervalMs * 1e6;
  return {
    interval_ms: intervalMs,
    requests_completed: completed,
    requests_failed: now.failCount - base.failCount,
    queue_count_delta: queueCount,
    queue_ns_delta: queueNs,
    compute_ns_delta: computeNs,
    queue_time_ms: queueCount > 0 ? queueNs / queueCount / 1e6 : 0,
    inflight: intervalNs > 0 ? (queueNs + computeNs) / intervalNs : 0,
    rps: intervalMs > 0 ? completed / (intervalMs / 1000) : 0,
    counters_reset: reset,
  };
}

/**
 * Counters between reads: each `observe` gives every model's metrics since the previous one.
 * A model seen on the first read has no baseline (it may have served for hours before the
 * sidecar started) and gets none; a model that appears on a later read was loaded since, so
 * it counts from zero over the interval.
 */
export class ServerMetricsTracker {
  private last = new Map<string, ModelCounters>();
  private lastAt: number | undefined;

  observe(counters: readonly ModelCounters[], nowMs: number): Map<string, ModelMetrics> {
    const out = new Map<string, ModelMetrics>();
    const since = this.lastAt;
    if (since !== undefined && nowMs > since) {
      for (const c of counters) out.set(c.model, modelMetrics(this.last.get(c.model) ?? zeroCounters(c.model), c, nowMs - since));
    }
    this.last = new Map(counters.map((c) => [c.model, c]));
    this.lastAt = nowMs;
    return out;
  }
}
