// What a replica's statistics say about its queue, read the way the sidecar reads them
// (apps/sidecar/src/server-metrics.ts): the mean queue time of the requests completed between
// two reads. Tests use it to see the load they generate and to say, when scaling does not
// happen, whether the load or the control loop was short.

export interface QueueCounters {
  readonly success: number;
  readonly queueCount: number;
  readonly queueNs: number;
  readonly computeNs: number;
}

export interface QueueReading {
  readonly at: number;
  readonly endpoint: string;
  readonly completed: number;
  readonly queueTimeMs: number;
  readonly inflight: number;
}

interface DurationJson {
  readonly count?: number;
  readonly ns?: number;
}

export async function readQueueCounters(endpoint: string, model = "simple"): Promise<QueueCounters> {
  const response = await fetch(`http://${endpoint}/v2/models/${model}/stats`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { model_stats?: { inference_stats?: Record<string, DurationJson> }[] };
  const sum = (key: string, field: keyof DurationJson) => (body.model_stats ?? []).reduce((n, s) => n + (s.inference_stats?.[key]?.[field] ?? 0), 0);
  return {
    success: sum("success", "count"),
    queueCount: sum("queue", "count"),
    queueNs: sum("queue", "ns"),
    computeNs: sum("compute_input", "ns") + sum("compute_infer", "ns") + sum("compute_output", "ns"),
  };
}

/** The reading between two counter snapshots `intervalMs` apart. */
export const queueReading = (endpoint: string, at: number, before: QueueCounters, now: QueueCounters, intervalMs: number): QueueReading => {
  const queueCount = now.queueCount - before.queueCount;
  const queueNs = now.queueNs - before.queueNs;
  const computeNs = now.computeNs - before.computeNs;
  return {
    at,
    endpoint,
    completed: now.success - before.success,
    queueTimeMs: queueCount > 0 ? queueNs / queueCount / 1e6 : 0,
    inflight: intervalMs > 0 ? (queueNs + computeNs) / (intervalMs * 1e6) : 0,
  };
};

/**
 * Reads the replicas `endpoints()` names every `everyMs` and keeps their readings, until
 * stopped; `latest()` is the last reading of each replica, `describe()` the history in a line
 * per reading (for a failure message).
 */
export function probeQueues(endpoints: () => Promise<readonly string[]>, model = "simple", everyMs = 1_000): {
  stop(): Promise<void>;
  /** The last reading of each replica read within the last `withinMs`. */
  latest(withinMs?: number): readonly QueueReading[];
  /** The replicas that completed requests between two of their reads. */
  serving(): readonly string[];
  describe(): string;
} {
  const readings: QueueReading[] = [];
  const last = new Map<string, { at: number; counters: QueueCounters }>();
  let running = true;
  const start = Date.now();
  const loop = (async () => {
    while (running) {
      const list = await endpoints().catch(() => [] as readonly string[]);
      await Promise.all(
        list.map(async (endpoint) => {
          const counters = await readQueueCounters(endpoint, model).catch(() => undefined);
          if (counters === undefined) return;
          const at = Date.now();
          const before = last.get(endpoint);
          last.set(endpoint, { at, counters });
          if (before !== undefined) readings.push(queueReading(endpoint, at - start, before.counters, counters, at - before.at));
        }),
      );
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
    serving: () => [...new Set(readings.filter((r) => r.completed > 0).map((r) => r.endpoint))],
    latest: (withinMs = Infinity) => {
      const recent = readings.filter((r) => r.at >= Date.now() - start - withinMs);
      return [...new Set(recent.map((r) => r.endpoint))].map((e) => recent.filter((r) => r.endpoint === e).at(-1)!);
    },
    describe: () =>
      readings.map((r) => `+${(r.at / 1000).toFixed(1)}s ${r.endpoint}: ${r.completed} done, queue ${r.queueTimeMs.toFixed(2)} ms, inflight ${r.inflight.toFixed(2)}`).join("\n"),
  };
}
