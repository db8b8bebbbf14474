// `berth lease create` flags (and an optional -f spec file) -> the LeaseSpecInput the core
// validates, and the berth.v1 LeaseSpec message sent to berthd. Quantities and durations
// travel as the strings the user wrote: berthd validates them with the same core module.
// Loaded only by the verbs that need it (it brings effect and the spec Schemas).
import { readFileSync } from "node:fs";
import { Either } from "effect";
import { parse as parseYaml } from "yaml";
import { parseDuration } from "@berth/core/spec/duration";
import { parseModelRef, type ModelRefInput } from "@berth/core/spec/model-ref";
import type { LeaseSpecInput } from "@berth/core/spec/lease-spec";
import { validateLeaseSpec } from "@berth/core/spec/validate";
import type { ResourcesInput } from "@berth/core/spec/resources";
import type { Input, LeaseSpec, ModelRef } from "@berth/api/berth";
import type { Context, Flags } from "../command.js";
import { CliError, ExitCode, usageError } from "../exit.js";
import { keyValues, specRejected } from "./print.js";
import { durationFlagValue } from "../durations.js";

/**
 * The CLI does not know berthd's default repository; references without one validate
 * against this stand-in and are sent with an empty repository (berthd fills in its default).
 */
export const STAND_IN_REPOSITORY = "default";

/**
 * berthd may size a lease from its models when no GPU memory is given (that is its policy, not
 * the CLI's to guess): the CLI checks everything else with this stand-in and sends none.
 */
const STAND_IN_GPU_MEMORY = "1Mi";

/** The input to check before calling: `input` with the stand-ins for what berthd decides. */
export const inputToCheck = (input: Record<string, unknown>): Record<string, unknown> => {
  const resources = typeof input.resources === "object" && input.resources !== null ? (input.resources as Record<string, unknown>) : {};
  const poolQuota = input.pool !== undefined && input.quota !== undefined;
  if (resources.gpuMemory !== undefined || poolQuota) return input;
  return { ...input, resources: { ...resources, gpuMemory: STAND_IN_GPU_MEMORY } };
};

const readSpecFile = (path: string): Record<string, unknown> => {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new CliError({ exitCode: ExitCode.Failure, message: `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}` });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new CliError({ exitCode: ExitCode.InvalidArgument, message: `${path} is not YAML or JSON: ${error instanceof Error ? error.message : String(error)}` });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new CliError({ exitCode: ExitCode.InvalidArgument, message: `${path} must hold a lease spec mapping (name, models, ...)` });
  }
  // Accept a bare spec or a `{ spec: ... }` wrapper (what `berth lease status -o yaml` prints).
  const record = doc as Record<string, unknown>;
  return typeof record.spec === "object" && record.spec !== null && record.models === undefined ? (record.spec as Record<string, unknown>) : record;
};

/** `--target 200ms` or `--target 200`: a number in the metric's unit (durations in ms). */
export const parseMetricTarget = (text: string): number => {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = parseDuration(text);
  if (Either.isRight(ms)) return ms.right;
  throw usageError(`--target takes a number or a duration like 200ms, not "${text}"`);
};

const defined = <T extends Record<string, unknown>>(object: T): Partial<T> =>
  Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Flags over the file's fields, in the core's input form (what validateLeaseSpec reads). */
export const leaseSpecInput = (name: string | undefined, flags: Flags): Record<string, unknown> => {
  const file = flags.string("filename");
  const base: Record<string, unknown> = file === undefined ? {} : { ...readSpecFile(file) };
  const models = flags.list("model");
  const resources = defined({
    gpuMemory: flags.string("gpu-memory"),
    gpus: flags.int("gpus"),
    gpuMilli: flags.int("gpu-milli"),
    cpu: flags.string("cpu"),
    memory: flags.string("memory"),
    gpuModels: flags.list("gpu-model").length > 0 ? flags.list("gpu-model") : undefined,
  });
  const renewal = defined({
    enabled: flags.boolean("no-renew") ? false : undefined,
    activityWindow: flags.string("activity-window"),
  });
  const targetText = flags.string("target");
  const autoscaling = defined({
    metric: flags.string("metric"),
    target: targetText === undefined ? undefined : parseMetricTarget(targetText),
    minReplicas: flags.int("min-replicas"),
    maxReplicas: flags.int("max-replicas"),
    policy: flags.string("policy"),
    mode: flags.string("autoscaling-mode"),
  });
  const colocation = defined({
    with: flags.list("with").length > 0 ? flags.list("with") : undefined,
    notWith: flags.list("not-with").length > 0 ? flags.list("not-with") : undefined,
  });
  const labels = keyValues("label", flags.list("label"));
  const merge = (key: string, part: Record<string, unknown>): void => {
    if (Object.keys(part).length === 0) return;
    const current = base[key];
    base[key] = typeof current === "object" && current !== null ? { ...current, ...part } : part;
  };
  if (name !== undefined) base.name = name;
  if (models.length > 0) base.models = models;
  for (const key of ["pool", "quota", "image"] as const) {
    const value = flags.string(key);
    if (value !== undefined) base[key] = value;
  }
  const duration = flags.string("duration");
  if (duration !== undefined) base.minDuration = duration;
  merge("resources", resources);
  merge("renewal", renewal);
  merge("autoscaling", autoscaling);
  merge("colocation", colocation);
  merge("labels", labels);
  return base;
};

const text = (value: unknown): string => (value === undefined || value === null ? "" : String(value));

const wireModel = (input: ModelRefInput): Input<ModelRef> => {
  if (typeof input === "string") {
    const parsed = parseModelRef(input, { defaultRepository: STAND_IN_REPOSITORY });
    // Validation has already passed; this only splits the text.
    if (Either.isLeft(parsed)) return { name: input };
    return { name: parsed.right.name, version: parsed.right.version ?? 0, repository: input.includes("@") ? parsed.right.repository : "" };
  }
  return { name: input.name, version: input.version ?? 0, repository: input.repository ?? "" };
};

/** The berth.v1 LeaseSpec for a validated input; absent parts stay unset so berthd applies its defaults. */
export const leaseSpecMessage = (input: LeaseSpecInput): Input<LeaseSpec> => {
  const r: ResourcesInput | undefined = input.resources;
  return {
    name: input.name,
    models: input.models.map(wireModel),
    pool: input.pool ?? "",
    quota: text(input.quota),
    image: input.image ?? "",
    minDuration: text(input.minDuration),
    resources: r === undefined ? null : {
      gpuMemory: text(r.gpuMemory), gpus: r.gpus ?? 0, gpuMilli: r.gpuMilli ?? 0, cpu: text(r.cpu), memory: text(r.memory), gpuModels: r.gpuModels ?? [],
    },
    renewal: input.renewal === undefined ? null : { enabled: input.renewal.enabled ?? true, activityWindow: text(input.renewal.activityWindow) },
    autoscaling: input.autoscaling === undefined ? null : {
      metric: input.autoscaling.metric,
      target: input.autoscaling.target,
      minReplicas: input.autoscaling.minReplicas ?? 0,
      maxReplicas: input.autoscaling.maxReplicas,
      policy: input.autoscaling.policy ?? "",
      mode: input.autoscaling.mode ?? "",
    },
    colocation: input.colocation === undefined ? null : { with: input.colocation.with ?? [], notWith: input.colocation.notWith ?? [] },
    labels: input.labels ?? {},
  };
};

/** The LeaseSpec message for `lease create`'s flags, checked first: every problem at once (exit 3). */
export const checkedLeaseSpec = (name: string | undefined, flags: Flags): Input<LeaseSpec> => {
  const input = leaseSpecInput(name, flags);
  if (typeof input.name !== "string") throw usageError("`berth lease create` needs NAME (or a spec file with a name, -f FILE)", "see `berth lease create --help`");
  const checked = validateLeaseSpec(inputToCheck(input), { defaultRepository: STAND_IN_REPOSITORY });
  if (Either.isLeft(checked)) throw specRejected(checked.left);
  return leaseSpecMessage(input as unknown as LeaseSpecInput);
};

/** A duration flag in milliseconds; `fallback` when absent. */
export const durationFlag = (ctx: Context, flag: string, fallback: number): number => {
  const value = ctx.flags.string(flag);
  return value === undefined ? fallback : durationFlagValue(flag, value);
};
