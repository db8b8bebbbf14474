// Per model-version inference statistics, kept the way Triton's statistics extension reports
// them: cumulative counts and nanoseconds for success, failure, queueing and the three
// compute phases, per batch size as well. The same numbers feed /metrics.

export interface Duration {
  count: number;
  ns: number;
}

/** Why a request failed, as Triton's `reason` label on nv_inference_request_failure. */
export type FailureReason = "REJECTED" | "BACKEND" | "OTHER";

/** Phase timings of one successful execution, in nanoseconds. */
export interface ExecutionTimings {
  readonly queueNs: number;
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

const zero = (): Duration => ({ count: 0, ns: 0 });
const add = (d: Duration, ns: number): void => {
  d.count += 1;
  d.ns += ns;
};

export interface MemoryUsageEntry {
  readonly type: "CPU" | "CPU_PINNED" | "GPU";
  readonly id: number;
  readonly byte_size: number;
}

/** Triton's JSON shape for one model version (GET /v2/models/{m}/stats), also valid for gRPC. */
export interface ModelStatsJson {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<"success" | "fail" | "queue" | "compute_input" | "compute_infer" | "compute_output" | "cache_hit" | "cache_miss", Duration>;
  batch_stats: { batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }[];
  memory_usage: MemoryUsageEntry[];
}

export class InferenceStatistics {
  lastInferenceMs = 0;
  inferenceCount = 0;
  executionCount = 0;
  /** Requests accepted for this version and not finished yet (waiting or running). */
  pending = 0;
  readonly success = zero();
  readonly fail = zero();
  readonly queue = zero();
  readonly computeInput = zero();
  readonly computeInfer = zero();
  readonly computeOutput = zero();
  readonly failuresByReason = new Map<FailureReason, number>();
  private readonly batches = new Map<number, { computeInput: Duration; computeInfer: Duration; computeOutput: Duration }>();

  constructor(
    readonly model: string,
    readonly version: string,
    private readonly memory: () => MemoryUsageEntry[],
  ) {}

  recordSuccess(nowMs: number, batchSize: number, requestNs: number, t: ExecutionTimings): void {
    this.lastInferenceMs = nowMs;
    this.inferenceCount += batchSize;
    this.executionCount += 1;
    add(this.success, requestNs);
    add(this.queue, t.queueNs);
    add(this.computeInput, t.computeInputNs);
    add(this.computeInfer, t.computeInferNs);
    add(this.computeOutput, t.computeOutputNs);
    let batch = this.batches.get(batchSize);
    if (batch === undefined) {
      batch = { computeInput: zero(), computeInfer: zero(), computeOutput: zero() };
      this.batches.set(batchSize, batch);
    }
    add(batch.computeInput, t.computeInputNs);
    add(batch.computeInfer, t.computeInferNs);
    add(batch.computeOutput, t.computeOutputNs);
  }

  recordFailure(nowMs: number, requestNs: number, reason: FailureReason): void {
    this.lastInferenceMs = nowMs;
    add(this.fail, requestNs);
    this.failuresByReason.set(reason, (this.failuresByReason.get(reason) ?? 0) + 1);
  }

  toJson(): ModelStatsJson {
    const copy = (d: Duration): Duration => ({ count: d.count, ns: d.ns });
    return {
      name: this.model,
      version: this.version,
      last_inference: this.lastInferenceMs,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: copy(this.success),
        fail: copy(this.fail),
        queue: copy(this.queue),
        compute_input: copy(this.computeInput),
        compute_infer: copy(this.computeInfer),
        compute_output: copy(this.computeOutput),
        cache_hit: zero(),
        cache_miss: zero(),
      },
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batch_size, b]) => ({
          batch_size,
          compute_input: copy(b.computeInput),
          compute_infer: copy(b.computeInfer),
          compute_output: copy(b.computeOutput),
        })),
      memory_usage: this.memory(),
    };
  }
}
