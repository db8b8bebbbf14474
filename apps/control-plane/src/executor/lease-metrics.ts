import type { MetricSample } from "@berth/core";
import type { ModelActivity } from "@berth/api/sidecar";

// The autoscaling metrics of a lease from its replicas' sidecar reports over one autoscaler
// sync period. Each replica's reports are summed first (a replica may report several times a
// period, or restart its counting), then the replicas are combined:
//   rps        = mean over replicas of completed / interval
//   queue_time = Σ Δqueue.ns / Σ Δqueue.count over the lease's models and replicas (ms): the mean
//                queue time of the requests completed in the period (0 when none queued)
//   inflight   = mean over replicas of Δ(queue + compute).ns / interval (Little's law)
// The sample also carries what Berth's own policy models: the lease's arrival rate (completed per
// second, all replicas), the mean service (compute) time, and the requests waiting on average
// (Δqueue.ns / interval, Little's law for the queue alone).

export const AUTOSCALING_METRICS = ["queue_time", "inflight", "rps"] as const;
export type AutoscalingMetric = (typeof AUTOSCALING_METRICS)[number];
export const isAutoscalingMetric = (name: string): name is AutoscalingMetric => (AUTOSCALING_METRICS as readonly string[]).includes(name);

/** One model's load on one replica, summed over the reports of a period. */
export interface ModelLoad {
  readonly intervalMs: number;
  readonly completed: number;
  /** False for reports without the server's timings (older sidecars): counts only. */
  readonly timed: boolean;
  readonly queueCount: number;
  readonly queueNs: number;
  readonly computeNs: number;
}

export const addLoad = (a: ModelLoad | undefined, b: ModelLoad): ModelLoad =>
  a === undefined
    ? b
    : {
        intervalMs: a.intervalMs + b.intervalMs,
        completed: a.completed + b.completed,
        timed: a.timed && b.timed,
        queueCount: a.queueCount + b.queueCount,
        queueNs: a.queueNs + b.queueNs,
        computeNs: a.computeNs + b.computeNs,
      };

/**
 * One report's model entry as load. `fallbackIntervalMs` (berthd's time since the replica's
 * previous report) stands in for a report without metrics; without either there is no interval.
 */
export const loadOfActivity = (model: ModelActivity, fallbackIntervalMs: number | undefined): ModelLoad | undefined => {
  const m = model.metrics;
  if (m !== undefined && m !== null && m.interval_ms > 0) {
    return { intervalMs: m.interval_ms, completed: m.requests_completed, timed: true, queueCount: m.queue_count_delta, queueNs: m.queue_ns_delta, computeNs: m.compute_ns_delta };
  }
  if (fallbackIntervalMs === undefined || !(fallbackIntervalMs > 0)) return undefined;
  const completed = Math.max(model.execution_count_delta, model.inference_count_delta);
  return { intervalMs: fallbackIntervalMs, completed, timed: false, queueCount: 0, queueNs: 0, computeNs: 0 };
};

/** A replica's period: load per model. */
export type ReplicaLoad = ReadonlyMap<string, ModelLoad>;

/**
 * The lease's sample from the replicas that reported in the period (their loads for the lease's
 * models), or undefined when none did or the metric needs timings no replica sent.
 * `maxReplicas` caps the replicas counted (a replica being removed may still report).
 */
export const leaseMetricSample = (metric: AutoscalingMetric, models: ReadonlySet<string>, replicas: Iterable<ReplicaLoad>, maxReplicas: number): MetricSample | undefined => {
  let counted = 0;
  let rateSum = 0;
  let inflightSum = 0;
  let queuedSum = 0;
  let timedReplicas = 0;
  let queueCount = 0;
  let queueNs = 0;
  let computeNs = 0;
  let timedCompleted = 0;
  for (const replica of replicas) {
    const loads = [...replica].filter(([model]) => models.has(model)).map(([, load]) => load);
    if (loads.length === 0) continue;
    counted++;
    // The lease's models on one replica share each report's interval: the longest is the replica's period.
    const intervalS = Math.max(...loads.map((l) => l.intervalMs)) / 1000;
    const completed = loads.reduce((n, l) => n + l.completed, 0);
    rateSum += completed / intervalS;
    if (!loads.every((l) => l.timed)) continue;
    timedReplicas++;
    const q = loads.reduce((n, l) => n + l.queueNs, 0);
    const c = loads.reduce((n, l) => n + l.computeNs, 0);
    inflightSum += (q + c) / (intervalS * 1e9);
    queuedSum += q / (intervalS * 1e9);
    queueCount += loads.reduce((n, l) => n + l.queueCount, 0);
    queueNs += q;
    computeNs += c;
    timedCompleted += completed;
  }
  if (counted === 0) return undefined;
  const ready = Math.max(1, Math.min(counted, maxReplicas));
  const timings = timedReplicas > 0 ? { queued: queuedSum, ...(timedCompleted > 0 ? { meanServiceMs: computeNs / timedCompleted / 1e6 } : {}) } : {};
  const common = { readyReplicas: ready, arrivalRate: rateSum, ...timings };
  switch (metric) {
    case "rps":
      return { value: rateSum / counted, ...common };
    case "queue_time":
      if (timedReplicas === 0) return undefined;
      return { value: queueCount > 0 ? queueNs / queueCount / 1e6 : 0, ...common, readyReplicas: Math.max(1, Math.min(timedReplicas, maxReplicas)) };
    case "inflight":
      if (timedReplicas === 0) return undefined;
      return { value: inflightSum / timedReplicas, ...common, readyReplicas: Math.max(1, Math.min(timedReplicas, maxReplicas)) };
  }
};
