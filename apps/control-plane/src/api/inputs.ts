import type { LeaseSpecInput, PoolSpecInput } from "@berth/core";
import type * as T from "@berth/api/berth";

// berth.v1 requests -> the core's spec inputs. proto3 cannot tell "not set" from the default
// value, so empty strings and zeros become "not given" and the spec's own defaults apply.

const str = (s: string | null | undefined): string | undefined => (s === undefined || s === null || s === "" ? undefined : s);
const num = (n: number | null | undefined): number | undefined => (n === undefined || n === null || n === 0 ? undefined : n);
const defined = <O extends object>(o: O): O => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as O;

const resourcesInput = (r: T.Resources | null | undefined) =>
  r === null || r === undefined
    ? undefined
    : defined({
        gpuMemory: str(r.gpuMemory),
        gpus: num(r.gpus),
        gpuMilli: num(r.gpuMilli),
        cpu: str(r.cpu),
        memory: str(r.memory),
        gpuModels: r.gpuModels?.length ? [...r.gpuModels] : undefined,
      });

/** The lease spec of a Create request, for `validateLeaseSpec`; the tenant is the caller's. */
export const leaseSpecInput = (spec: T.LeaseSpec | null | undefined, tenant: string, defaultMinDuration?: number): LeaseSpecInput =>
  defined({
    name: spec?.name ?? "",
    tenant,
    models: (spec?.models ?? []).map((m) => defined({ name: m.name, version: num(m.version), repository: str(m.repository) })),
    pool: str(spec?.pool),
    quota: str(spec?.quota),
    resources: resourcesInput(spec?.resources),
    image: str(spec?.image),
    minDuration: str(spec?.minDuration) ?? defaultMinDuration,
    renewal: spec?.renewal ? defined({ enabled: spec.renewal.enabled, activityWindow: str(spec.renewal.activityWindow) }) : undefined,
    autoscaling:
      spec?.autoscaling && spec.autoscaling.metric !== ""
        ? (defined({
            metric: spec.autoscaling.metric,
            target: spec.autoscaling.target,
            minReplicas: num(spec.autoscaling.minReplicas),
            maxReplicas: spec.autoscaling.maxReplicas,
            policy: str(spec.autoscaling.policy) as "hpa" | "berth" | undefined,
            // Checked by the spec's validation (INVALID_ARGUMENT at `autoscaling.mode`); empty = the backend's default.
            mode: str(spec.autoscaling.mode) as "hpa" | "builtin" | undefined,
          }) as LeaseSpecInput["autoscaling"])
        : undefined,
    colocation: spec?.colocation ? defined({ with: spec.colocation.with?.length ? [...spec.colocation.with] : undefined, notWith: spec.colocation.notWith?.length ? [...spec.colocation.notWith] : undefined }) : undefined,
    labels: spec?.labels && Object.keys(spec.labels).length > 0 ? { ...spec.labels } : undefined,
  }) as LeaseSpecInput;

/** The pool spec of a Create request, for `validatePoolSpec` (the proto flattens the template). */
export const poolSpecInput = (spec: T.PoolSpec | null | undefined): PoolSpecInput =>
  defined({
    name: spec?.name ?? "",
    template: defined({ image: str(spec?.image), resources: resourcesInput(spec?.resources) ?? {}, group: str(spec?.group) }) as PoolSpecInput["template"],
    minInstances: num(spec?.minInstances),
    maxInstances: num(spec?.maxInstances),
    quota: str(spec?.quotaPerInstance),
  }) as PoolSpecInput;

/** Validation paths of a pool spec, in the request's words (`template.resources.gpuMemory` -> `resources.gpuMemory`). */
export const poolPath = (path: string): string =>
  path === "quota" ? "quotaPerInstance" : path.startsWith("template.") ? path.slice("template.".length) : path;

/** A Kubernetes-style label selector: `a=b`, `a==b`, `a!=b`, `a` (has), `!a` (has not), comma-separated. */
export const labelSelector = (text: string): ((labels: Readonly<Record<string, string>>) => boolean) | string => {
  const terms = text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  const tests: ((labels: Readonly<Record<string, string>>) => boolean)[] = [];
  for (const term of terms) {
    const m = /^([^!=\s]+)\s*(!=|==|=)\s*(\S*)$/.exec(term);
    if (m !== null) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      tests.push(op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if (/^![^!=\s]+$/.test(term)) tests.push((l) => !(term.slice(1) in l));
    else if (/^[^!=\s]+$/.test(term)) tests.push((l) => term in l);
    else return `cannot read the label selector term "${term}"`;
  }
  return (labels) => tests.every((t) => t(labels));
};
