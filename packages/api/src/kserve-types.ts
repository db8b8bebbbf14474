// TypeScript shapes of the KServe v2 / Triton messages (proto/kserve/grpc_service.proto) as
// @grpc/proto-loader decodes them with KSERVE_LOADER_OPTIONS: field names as in the proto
// (snake_case), 64-bit integers as decimal strings, bytes as Buffer, enums as names.
// When sending, numbers are accepted wherever a 64-bit string is shown.

/** A 64-bit integer: a decimal string when received, a number or string when sent. */
export type Int64 = string | number;

export interface InferParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
  parameter_choice?: "bool_param" | "int64_param" | "string_param" | "double_param" | "uint64_param";
}

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: Int64[];
}

export interface ServerLiveResponse { live: boolean }
export interface ServerReadyResponse { ready: boolean }
export interface ModelReadyRequest { name: string; version?: string }
export interface ModelReadyResponse { ready: boolean }
export interface ServerMetadataResponse { name: string; version: string; extensions: string[] }
export interface ModelMetadataRequest { name: string; version?: string }
export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

export interface InferRequestedOutputTensor {
  name: string;
  parameters?: Record<string, InferParameter>;
}

export interface ModelInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs: InferInputTensor[];
  outputs?: InferRequestedOutputTensor[];
  raw_input_contents?: Uint8Array[];
}

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  raw_output_contents: Uint8Array[];
}

export interface ModelConfigRequest { name: string; version?: string }

export interface ModelConfigMessage {
  name: string;
  platform: string;
  backend: string;
  version_policy?: {
    latest?: { num_versions: number };
    all?: Record<string, never>;
    specific?: { versions: Int64[] };
    policy_choice?: "latest" | "all" | "specific";
  } | null;
  max_batch_size: number;
  input: { name: string; data_type: string; format?: string; dims: Int64[]; reshape?: { shape: Int64[] } | null; optional?: boolean }[];
  output: { name: string; data_type: string; dims: Int64[]; reshape?: { shape: Int64[] } | null; label_filename?: string }[];
  instance_group: { name: string; kind: string; count: number; gpus: number[] }[];
  default_model_filename: string;
  parameters: Record<string, { string_value: string }>;
}

export interface ModelConfigResponse { config: ModelConfigMessage | null }

export interface ModelStatisticsRequest { name?: string; version?: string }

export interface StatisticDuration { count: Int64; ns: Int64 }

export interface InferStatistics {
  success: StatisticDuration | null;
  fail: StatisticDuration | null;
  queue: StatisticDuration | null;
  compute_input: StatisticDuration | null;
  compute_infer: StatisticDuration | null;
  compute_output: StatisticDuration | null;
  cache_hit: StatisticDuration | null;
  cache_miss: StatisticDuration | null;
}

export interface InferBatchStatistics {
  batch_size: Int64;
  compute_input: StatisticDuration | null;
  compute_infer: StatisticDuration | null;
  compute_output: StatisticDuration | null;
}

export interface MemoryUsage { type: string; id: Int64; byte_size: Int64 }

export interface ModelStatistics {
  name: string;
  version: string;
  last_inference: Int64;
  inference_count: Int64;
  execution_count: Int64;
  inference_stats: InferStatistics | null;
  batch_stats: InferBatchStatistics[];
  memory_usage: MemoryUsage[];
}

export interface ModelStatisticsResponse { model_stats: ModelStatistics[] }

export interface ModelRepositoryParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  bytes_param?: Buffer;
}

export interface RepositoryIndexRequest { repository_name?: string; ready?: boolean }
export interface ModelIndex { name: string; version: string; state: string; reason: string }
export interface RepositoryIndexResponse { models: ModelIndex[] }
export interface RepositoryModelLoadRequest {
  repository_name?: string;
  model_name: string;
  parameters?: Record<string, ModelRepositoryParameter>;
}
export interface RepositoryModelUnloadRequest {
  repository_name?: string;
  model_name: string;
  parameters?: Record<string, ModelRepositoryParameter>;
}
export type Empty = Record<string, never>;
