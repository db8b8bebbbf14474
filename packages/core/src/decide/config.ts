import type { DurationMs } from "../units.js";

/** Plain data: which policies decide uses (by registry name) and the assumptions it makes. */
export interface DecideConfig {
  /** Node-level placement policy for new servers (placement registry name). */
  readonly placementPolicy: string;
  /** Lease -> existing server binding policy (placement/server registry name). */
  readonly serverPolicy: string;
  /** Eviction policy (eviction registry name). */
  readonly evictionPolicy: string;
  /** Keep expired leases' models loaded while their memory is not needed (evicted by cost later). */
  readonly keepWarm: boolean;
  /**
   * Keep-alive policy (eviction/keepalive-registry name): how long after its last use an
   * expired lease stays warm when nobody needs its memory (`until-needed`: until evicted).
   */
  readonly keepAlivePolicy: string;
  /** Longest an expired lease stays warm past its expiry whatever the keep-alive policy says; undefined = no limit. */
  readonly maxWarm?: DurationMs;
  readonly autoscaler: {
    /** How often Tick runs the autoscalers (Kubernetes HPA's sync period is 15 s). */
    readonly syncPeriod: DurationMs;
    /**
     * The `hpa` policy's stabilization windows (HPA `behavior.scaleUp/scaleDown.stabilizationWindowSeconds`);
     * undefined = Kubernetes' defaults (0 up, 5 minutes down).
     */
    readonly scaleUpStabilization?: DurationMs;
    readonly scaleDownStabilization?: DurationMs;
    /** How old a metric sample may be and still be acted on; undefined = max(3 sync periods, 30 s) (autoscale.ts). */
    readonly sampleMaxAge?: DurationMs;
  };
  readonly server: {
    /** Assumed server start time, used as a load-time guess when nothing was measured. */
    readonly startupTime: DurationMs;
    /** Assumed load throughput (bytes per ms) to guess a model set's load time from its size. */
    readonly loadBytesPerMs: number;
  };
  /** Image for leases that name none. */
  readonly defaultImage: string;
  /** Group of each backend platform: frameworks that never give memory back get their own. */
  readonly groupOfPlatform: Readonly<Record<string, string>>;
  /** Group of models whose platform is unknown. */
  readonly defaultGroup: string;
  /** Bound on snapshot.decisions. */
  readonly decisionLogLimit: number;
  /** How long Released/Failed leases stay in the snapshot (for status and explain) before Tick drops them. */
  readonly retainTerminal: DurationMs;
  /** Record per-candidate verdicts (the control plane does; a fast simulation may turn it off). */
  readonly explain: boolean;
  /** Bound on each lease's recentGaps. */
  readonly recentGapsLimit: number;
}

export const defaultDecideConfig: DecideConfig = {
  placementPolicy: "berth",
  serverPolicy: "most-allocated",
  evictionPolicy: "cost-aware",
  keepWarm: true,
  keepAlivePolicy: "until-needed",
  autoscaler: { syncPeriod: 15_000 },
  server: { startupTime: 30_000, loadBytesPerMs: 500_000 },
  defaultImage: "nvcr.io/nvidia/tritonserver:24.08-py3",
  groupOfPlatform: {
    pytorch_libtorch: "pytorch",
    tensorflow_savedmodel: "tensorflow",
    tensorflow_graphdef: "tensorflow",
    onnxruntime_onnx: "onnxruntime",
    tensorrt_plan: "tensorrt",
    python: "python",
  },
  defaultGroup: "default",
  decisionLogLimit: 1000,
  retainTerminal: 60 * 60_000,
  explain: true,
  recentGapsLimit: 16,
};
