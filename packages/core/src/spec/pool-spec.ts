import { ParseResult, Schema } from "effect";
import type { PoolSpec } from "./types.js";
import { Issues, isPlainObject, show, plain } from "./issues.js";
import { BytesFromQuantity } from "./quantity.js";
import { DnsLabel } from "./name.js";
import { encodeServerTemplate, readServerTemplate, ServerTemplateSchema, type ImageOptions, type ServerTemplateInput } from "./server-template.js";
import { Count, wholeNumber } from "./numbers.js";
import { DEFAULT_MIN_INSTANCES, MAX_INSTANCES } from "./defaults.js";

/** A pool spec as a YAML/JSON file or a gRPC request carries it. */
export interface PoolSpecInput {
  readonly name: string;
  readonly template: ServerTemplateInput;
  readonly minInstances?: number;
  readonly maxInstances?: number;
  /** GPU memory each lease may take per instance; defaults to the instance's whole GPU memory. */
  readonly quota?: string | number;
}

export const POOL_FIELDS = ["name", "template", "minInstances", "maxInstances", "quota"] as const;

export const PoolSpecSchema = Schema.Struct({
  name: Schema.String,
  template: ServerTemplateSchema,
  minInstances: Count,
  maxInstances: Count,
  quotaPerInstance: Count,
});

/** Read a whole pool spec; every problem goes into `issues`. */
export const readPoolSpec = (input: unknown, issues: Issues, options: ImageOptions): PoolSpec | undefined => {
  const object = issues.object(input, [], POOL_FIELDS, "a pool spec");
  if (object === undefined) return undefined;
  const name = issues.required(object, "name", DnsLabel, [], "the pool name is missing: give a lowercase name like gpu-pool");
  const template = object.template === undefined || object.template === null
    ? (issues.add(["template"], undefined, "template is missing: give the instance's image, resources (at least gpuMemory) and group"), undefined)
    : readServerTemplate(object.template, ["template"], issues, options);
  const minInstances = issues.optional(object, "minInstances", wholeNumber("minInstances", 0, MAX_INSTANCES), [], DEFAULT_MIN_INSTANCES);
  // A fixed-size pool unless told otherwise: maxInstances defaults to minInstances.
  const maxInstances = issues.optional(object, "maxInstances", wholeNumber("maxInstances", 1, MAX_INSTANCES), [], minInstances ?? DEFAULT_MIN_INSTANCES);
  const quota = issues.optional(object, "quota", BytesFromQuantity, [], template?.resources.gpuMemory);
  if (minInstances !== undefined && maxInstances !== undefined && minInstances > maxInstances) {
    issues.add(["maxInstances"], maxInstances, `maxInstances (${maxInstances}) is below minInstances (${minInstances})`);
  }
  if (maxInstances === 0) issues.add(["maxInstances"], 0, "a pool needs room for at least one instance: maxInstances must be 1 or more");
  if (template !== undefined && quota !== undefined) {
    if (quota > template.resources.gpuMemory) {
      issues.add(["quota"], object.quota, `quota (${show(object.quota)}) is more than an instance's GPU memory (${show(Schema.encodeSync(BytesFromQuantity)(template.resources.gpuMemory))})`);
    } else if (quota === 0) {
      issues.add(["quota"], object.quota, "quota must be more than 0: it is the GPU memory each lease may use on an instance");
    }
  }
  if (!issues.ok) return undefined;
  return { name: name!, template: template!, minInstances: minInstances!, maxInstances: maxInstances!, quotaPerInstance: quota! };
};

export const encodePoolSpec = (spec: PoolSpec): PoolSpecInput => ({
  name: spec.name,
  template: encodeServerTemplate(spec.template),
  minInstances: spec.minInstances,
  maxInstances: spec.maxInstances,
  quota: Schema.encodeSync(BytesFromQuantity)(spec.quotaPerInstance),
});

/** Schema from the user form to a PoolSpec, collecting every problem. */
export const poolSpecFromInput = (options: ImageOptions = {}): Schema.Schema<PoolSpec, PoolSpecInput> =>
  Schema.transformOrFail(
    Schema.declare((u): u is PoolSpecInput => isPlainObject(u), {
      identifier: "PoolSpecInput",
      message: plain((issue) => `a pool spec must be an object with at least name and template, not ${show(issue.actual)}`),
    }),
    PoolSpecSchema,
    {
      strict: true,
      decode: (input, _, ast) => {
        const issues = new Issues();
        const spec = readPoolSpec(input, issues, options);
        return issues.result(ast, input, () => spec!);
      },
      encode: (spec) => ParseResult.succeed(encodePoolSpec(spec)),
    },
  );
