// A ModelConfig in Triton's JSON form: field names of model_config.proto, enums by name. It
// is both the body of GET /v2/models/{m}/config and, with the loader's keepCase option, the
// gRPC ModelConfigResponse.config message.
import type { ModelConfig } from "@berth/repository/config-pbtxt";

export function configJson(c: ModelConfig) {
  const tensor = (t: ModelConfig["input"][number]) => ({
    name: t.name,
    data_type: `TYPE_${t.dataType}`,
    dims: t.dims,
    ...(t.reshape === undefined ? {} : { reshape: { shape: t.reshape } }),
    ...(t.optional ? { optional: true } : {}),
  });
  return {
    name: c.name,
    platform: c.platform,
    backend: c.backend,
    version_policy:
      c.versionPolicy.kind === "latest"
        ? { latest: { num_versions: c.versionPolicy.numVersions } }
        : c.versionPolicy.kind === "all"
          ? { all: {} }
          : { specific: { versions: c.versionPolicy.versions } },
    max_batch_size: c.maxBatchSize,
    input: c.input.map(tensor),
    output: c.output.map(tensor),
    instance_group: c.instanceGroup.map((g, i) => ({ name: g.name ?? `${c.name}_${i}`, kind: g.kind, count: g.count, gpus: g.gpus })),
    default_model_filename: c.defaultModelFilename,
    parameters: Object.fromEntries([...c.parameters].map(([k, v]) => [k, { string_value: v }])),
  };
}

