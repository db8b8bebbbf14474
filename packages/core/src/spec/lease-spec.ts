import { ParseResult, Schema } from "effect";
import type { AutoscalerPolicyName, AutoscalingMode, AutoscalingSpec, ColocationRules, LeaseSpec, ModelRef, RenewalSpec, Where } from "./types.js";
import { Issues, isPlainObject, show, type SpecPath, plain } from "./issues.js";
import { BytesFromQuantity } from "./quantity.js";
import { DurationFromString } from "./duration.js";
import { DnsLabel, readLabels } from "./name.js";
import { formatModelRef, modelRefFromInput, ModelRefSchema, sameModel, type ModelRefInput, type ModelRefOptions } from "./model-ref.js";
import { encodeResources, readResources, ResourcesSchema, type ResourcesInput } from "./resources.js";
import { readImage, type ImageOptions } from "./server-template.js";
import { Count, Flag, positiveNumber, wholeNumber } from "./numbers.js";
import {
  DEFAULT_ACTIVITY_WINDOW, DEFAULT_AUTOSCALER_POLICY, DEFAULT_LEASE_GPUS, DEFAULT_MIN_DURATION, DEFAULT_MIN_REPLICAS,
  DEFAULT_RENEWAL_ENABLED, DEFAULT_TENANT, MAX_MODELS, MAX_REPLICAS, MIN_ACTIVITY_WINDOW,
} from "./defaults.js";

/** Options the caller (control plane, CLI) supplies from its configuration. */
export interface SpecOptions extends ModelRefOptions, ImageOptions {}

export interface RenewalInput {
  readonly enabled?: boolean;
  readonly activityWindow?: string | number;
}

export interface AutoscalingInput {
  readonly metric: string;
  readonly target: number;
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  readonly policy?: "hpa" | "berth";
  readonly mode?: AutoscalingMode;
}

export interface ColocationInput {
  readonly with?: readonly string[];
  readonly notWith?: readonly string[];
}

/** A lease spec as a YAML/JSON file or a gRPC request carries it. */
export interface LeaseSpecInput {
  readonly name: string;
  readonly tenant?: string;
  readonly models: readonly ModelRefInput[];
  /** Run on this pool's servers; absent: a bespoke server made for the lease. */
  readonly pool?: string;
  /** Pool leases: GPU memory the lease may use on each instance. */
  readonly quota?: string | number;
  readonly resources?: ResourcesInput;
  readonly image?: string;
  readonly minDuration?: string | number;
  readonly renewal?: RenewalInput;
  readonly autoscaling?: AutoscalingInput;
  readonly colocation?: ColocationInput;
  readonly labels?: Readonly<Record<string, string>>;
}

export const LEASE_FIELDS = [
  "name", "tenant", "models", "pool", "quota", "resources", "image", "minDuration", "renewal", "autoscaling", "colocation", "labels",
] as const;

const WhereSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("bespoke") }),
  Schema.Struct({ kind: Schema.Literal("pool"), pool: Schema.String, quota: Count }),
);

export const AutoscalingSpecSchema = Schema.Struct({
  metric: Schema.String,
  target: Schema.Number,
  minReplicas: Count,
  maxReplicas: Count,
  policy: Schema.Literal("hpa", "berth"),
  mode: Schema.optional(Schema.Literal("builtin", "hpa")),
});

/** The decoded shape, as a Schema (the store persists decoded specs with it). */
export const LeaseSpecSchema = Schema.Struct({
  name: Schema.String,
  tenant: Schema.String,
  models: Schema.Array(ModelRefSchema),
  where: WhereSchema,
  resources: ResourcesSchema,
  image: Schema.String,
  minDuration: Count,
  renewal: Schema.Struct({ enabled: Schema.Boolean, activityWindow: Count }),
  autoscaling: Schema.optional(AutoscalingSpecSchema),
  colocation: Schema.Struct({ with: Schema.Array(Schema.String), notWith: Schema.Array(Schema.String) }),
  labels: Schema.Record({ key: Schema.String, value: Schema.String }),
});

const METRIC = /^[a-z_][a-z0-9_]*$/;
const Metric = Schema.String.pipe(Schema.filter((s) => METRIC.test(s))).annotations({
  message: plain((issue) => `${show(issue.actual)} is not a metric name: use lowercase letters, digits and '_', e.g. queue_time, inflight, rps`),
});
const Policy = Schema.declare((u): u is AutoscalerPolicyName => u === "hpa" || u === "berth", {
  message: plain((issue) => `${show(issue.actual)} is not an autoscaler policy: use "hpa" (Kubernetes' algorithm) or "berth"`),
});
const Mode = Schema.declare((u): u is AutoscalingMode => u === "builtin" || u === "hpa", {
  message: plain((issue) => `${show(issue.actual)} is not an autoscaling mode: use "hpa" (the backend's HorizontalPodAutoscaler) or "builtin" (berthd scales)`),
});
const Replicas = (what: string) => wholeNumber(what, 1, MAX_REPLICAS);

const readModels = (object: Record<string, unknown>, issues: Issues, options: ModelRefOptions): ModelRef[] | undefined => {
  const raw = object.models;
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    issues.add(["models"], raw, "a lease needs at least one model, e.g. models: [simple@demo]");
    return undefined;
  }
  if (Array.isArray(raw) && raw.length > MAX_MODELS) {
    issues.add(["models"], raw.length, `a lease may hold at most ${MAX_MODELS} models, not ${raw.length}`);
    return undefined;
  }
  const models = issues.array(object, "models", modelRefFromInput(options), [], "models");
  if (models === undefined) return undefined;
  let duplicated = false;
  models.forEach((model, index) => {
    const first = models.findIndex((other) => sameModel(model, other));
    if (first < index) {
      duplicated = true;
      issues.add(["models", index], raw, `${formatModelRef({ name: model.name, repository: model.repository })} is listed twice (also models[${first}]); a lease loads each model once`);
    }
  });
  return duplicated ? undefined : models;
};

const readRenewal = (value: unknown, issues: Issues): RenewalSpec | undefined => {
  const object = issues.object(value ?? {}, ["renewal"], ["enabled", "activityWindow"], "renewal");
  if (object === undefined) return undefined;
  const enabled = issues.optional(object, "enabled", Flag("renewal.enabled"), ["renewal"], DEFAULT_RENEWAL_ENABLED);
  const activityWindow = issues.optional(object, "activityWindow", DurationFromString, ["renewal"], DEFAULT_ACTIVITY_WINDOW);
  if (enabled === undefined || activityWindow === undefined) return undefined;
  if (enabled && activityWindow < MIN_ACTIVITY_WINDOW) {
    issues.add(["renewal", "activityWindow"], object.activityWindow, `an activity window of ${show(object.activityWindow)} is too short to renew on: use at least 1s, or set enabled: false`);
    return undefined;
  }
  return { enabled, activityWindow };
};

const readAutoscaling = (value: unknown, issues: Issues): AutoscalingSpec | undefined => {
  const path: SpecPath = ["autoscaling"];
  const object = issues.object(value, path, ["metric", "target", "minReplicas", "maxReplicas", "policy", "mode"], "autoscaling");
  if (object === undefined) return undefined;
  const before = issues.list.length;
  const metric = issues.required(object, "metric", Metric, path, "metric is missing: name the metric to scale on, e.g. queue_time, inflight or rps");
  const target = issues.required(object, "target", positiveNumber("target"), path, "target is missing: give the metric's target value per replica");
  const minReplicas = issues.optional(object, "minReplicas", Replicas("minReplicas"), path, DEFAULT_MIN_REPLICAS);
  const maxReplicas = issues.required(object, "maxReplicas", Replicas("maxReplicas"), path, `maxReplicas is missing: give the most replicas to scale to (up to ${MAX_REPLICAS})`);
  const policy = issues.optional(object, "policy", Policy, path, DEFAULT_AUTOSCALER_POLICY);
  const mode = issues.optional(object, "mode", Mode, path, undefined);
  if (minReplicas !== undefined && maxReplicas !== undefined && minReplicas > maxReplicas) {
    issues.add([...path, "maxReplicas"], maxReplicas, `maxReplicas (${maxReplicas}) is below minReplicas (${minReplicas})`);
  }
  if (issues.list.length > before) return undefined;
  return { metric: metric!, target: target!, minReplicas: minReplicas!, maxReplicas: maxReplicas!, policy: policy!, ...(mode !== undefined ? { mode } : {}) };
};

const readColocation = (value: unknown, self: unknown, issues: Issues): ColocationRules | undefined => {
  const path: SpecPath = ["colocation"];
  const object = issues.object(value ?? {}, path, ["with", "notWith"], "colocation");
  if (object === undefined) return undefined;
  const before = issues.list.length;
  const together = issues.array(object, "with", DnsLabel, path, "colocation.with");
  const apart = issues.array(object, "notWith", DnsLabel, path, "colocation.notWith");
  const check = (list: readonly string[] | undefined, key: "with" | "notWith", other: readonly string[] | undefined): void => {
    list?.forEach((name, index) => {
      const at = [...path, key, index];
      if (name === self) issues.add(at, name, `a lease cannot name itself in colocation.${key}`);
      else if (list.indexOf(name) < index) issues.add(at, name, `${show(name)} is listed twice in colocation.${key}`);
      else if (key === "notWith" && other?.includes(name)) issues.add(at, name, `${show(name)} is in both colocation.with and colocation.notWith`);
    });
  };
  check(together, "with", apart);
  check(apart, "notWith", together);
  if (issues.list.length > before) return undefined;
  return { with: together!, notWith: apart! };
};

/** Read a whole lease spec; every problem goes into `issues`. */
export const readLeaseSpec = (input: unknown, issues: Issues, options: SpecOptions): LeaseSpec | undefined => {
  const object = issues.object(input, [], LEASE_FIELDS, "a lease spec");
  if (object === undefined) return undefined;
  const name = issues.required(object, "name", DnsLabel, [], "the lease name is missing: give a lowercase name like my-lease");
  const tenant = issues.optional(object, "tenant", DnsLabel, [], DEFAULT_TENANT);
  const models = readModels(object, issues, options);
  const pool = issues.optional(object, "pool", DnsLabel, [], undefined);
  const quota = issues.optional(object, "quota", BytesFromQuantity, [], undefined);
  const givenGpuMemory = isPlainObject(object.resources) ? object.resources.gpuMemory : undefined;
  const poolLease = object.pool !== undefined && object.pool !== null;
  const resources = readResources(object.resources, ["resources"], issues, {
    gpus: DEFAULT_LEASE_GPUS,
    // A pool lease's GPU memory defaults to its quota; a bespoke lease must say what its models need.
    gpuMemory: poolLease && quota !== undefined
      ? quota
      : { missing: poolLease ? "gpuMemory is missing: give the GPU memory the models need (e.g. 4Gi), or a quota" : "gpuMemory is missing: give the GPU memory the models need, e.g. 4Gi" },
  });
  const image = readImage(object, [], issues, options);
  const minDuration = issues.optional(object, "minDuration", DurationFromString, [], DEFAULT_MIN_DURATION);
  const renewal = readRenewal(object.renewal, issues);
  const autoscaling = object.autoscaling === undefined || object.autoscaling === null ? undefined : readAutoscaling(object.autoscaling, issues);
  const colocation = readColocation(object.colocation, object.name, issues);
  const labels = readLabels(object.labels, ["labels"], issues);

  let where: Where | undefined;
  if (!poolLease) {
    if (object.quota !== undefined && object.quota !== null) issues.add(["quota"], object.quota, "quota is for pool leases: name a pool, or leave quota out");
    where = { kind: "bespoke" };
  } else if (pool !== undefined) {
    const poolQuota = quota ?? (givenGpuMemory !== undefined ? resources?.gpuMemory : undefined);
    if (resources !== undefined && poolQuota !== undefined && resources.gpuMemory > poolQuota) {
      issues.add(["resources", "gpuMemory"], givenGpuMemory, `gpuMemory (${show(givenGpuMemory)}) is more than the quota (${show(object.quota)}): the models could never load`);
    }
    if (object.autoscaling !== undefined && object.autoscaling !== null) {
      issues.add(["autoscaling"], object.autoscaling, "autoscaling is for bespoke leases: a pool lease runs on the pool's instances (set minInstances/maxInstances on the pool)");
    }
    if (poolQuota !== undefined) where = { kind: "pool", pool, quota: poolQuota };
  }
  if (!issues.ok) return undefined;
  const spec: LeaseSpec = {
    name: name!, tenant: tenant!, models: models!, where: where!, resources: resources!, image: image!,
    minDuration: minDuration!, renewal: renewal!, colocation: colocation!, labels: labels!,
  };
  return autoscaling === undefined ? spec : { ...spec, autoscaling };
};

/** The user form of a decoded lease spec, every field written out (decoding it gives the spec back). */
export const encodeLeaseSpec = (spec: LeaseSpec): LeaseSpecInput => ({
  name: spec.name,
  tenant: spec.tenant,
  models: spec.models.map(formatModelRef),
  ...(spec.where.kind === "pool" ? { pool: spec.where.pool, quota: Schema.encodeSync(BytesFromQuantity)(spec.where.quota) } : {}),
  resources: encodeResources(spec.resources),
  image: spec.image,
  minDuration: Schema.encodeSync(DurationFromString)(spec.minDuration),
  renewal: { enabled: spec.renewal.enabled, activityWindow: Schema.encodeSync(DurationFromString)(spec.renewal.activityWindow) },
  ...(spec.autoscaling === undefined ? {} : { autoscaling: { ...spec.autoscaling } }),
  colocation: { with: [...spec.colocation.with], notWith: [...spec.colocation.notWith] },
  labels: { ...spec.labels },
});

/** Schema from the user form to a LeaseSpec, collecting every problem; `options` supplies the configured defaults. */
export const leaseSpecFromInput = (options: SpecOptions = {}): Schema.Schema<LeaseSpec, LeaseSpecInput> =>
  Schema.transformOrFail(
    Schema.declare((u): u is LeaseSpecInput => isPlainObject(u), {
      identifier: "LeaseSpecInput",
      message: plain((issue) => `a lease spec must be an object with at least name and models, not ${show(issue.actual)}`),
    }),
    LeaseSpecSchema,
    {
      strict: true,
      decode: (input, _, ast) => {
        const issues = new Issues();
        const spec = readLeaseSpec(input, issues, options);
        return issues.result(ast, input, () => spec!);
      },
      encode: (spec) => ParseResult.succeed(encodeLeaseSpec(spec)),
    },
  );
