import type { ModelFacts } from "@berth/core/decide/types";
import type { Rng } from "@berth/core/random/rng";
import type { LeaseSpec } from "@berth/core/spec/types";
import type { SimCatalog } from "../backend/catalog.js";
import type { LeaseTemplate, Scenario } from "../scenario/schema.js";
import { compile, meanOf, type Draw, type MeasuredData } from "./distribution.js";

/** How a lease's clients send requests: a Poisson rate, or the exact times of a trace. */
export type RequestPlan =
  | { readonly kind: "poisson"; readonly rate: number }
  | { readonly kind: "times"; readonly times: readonly number[] };

/** One lease the workload's clients will ask for: when, what, and how they use it. */
export interface LeasePlan {
  readonly id: string;
  readonly holder: string;
  readonly template: string;
  readonly spec: LeaseSpec;
  readonly models: readonly ModelFacts[];
  readonly arriveAt: number;
  /** When the client lets go; undefined = it holds the lease until the end. */
  readonly releaseAt?: number;
  readonly requests: RequestPlan;
  readonly serviceTime: Draw;
  /** Mean service time (ms), for Little's law in the autoscaling metrics. */
  readonly serviceMean: number;
  /** Ask for the lease again when a request finds it gone (trace workloads: on-demand loads). */
  readonly reacquire: boolean;
}

/** The lease spec a template asks for (what a client's `berth lease create` would send, decoded). */
export const leaseSpecOf = (t: LeaseTemplate, name: string, s: Scenario, catalog: SimCatalog): LeaseSpec => {
  const models = t.models.map((m) => catalog.named(m));
  const gpuMemory = t.resources.gpuMemory ?? models.reduce((sum, m) => sum + m.gpuMemory, 0);
  return {
    name,
    tenant: t.tenant,
    models: models.map((m) => m.ref),
    where: t.pool === undefined ? { kind: "bespoke" } : { kind: "pool", pool: t.pool, quota: t.quota ?? gpuMemory },
    resources: { gpuMemory, gpus: t.resources.gpus, gpuMilli: t.resources.gpuMilli, cpu: t.resources.cpu, memory: t.resources.memory, gpuModels: t.resources.gpuModels },
    image: s.servers.image,
    minDuration: t.minDuration,
    renewal: { enabled: t.activityWindow > 0, activityWindow: t.activityWindow },
    autoscaling: t.autoscaling && { ...t.autoscaling, policy: t.autoscaling.policy ?? s.policies.autoscaler },
    colocation: { with: [], notWith: [] },
    labels: { "berth.dev/template": t.name },
  };
};

const pickWeighted = <T extends { readonly weight: number }>(items: readonly T[], rng: Rng): T => {
  const total = items.reduce((s, i) => s + i.weight, 0);
  let x = rng.next() * total;
  for (const i of items) {
    x -= i.weight;
    if (x < 0) return i;
  }
  return items[items.length - 1];
};

/**
 * The synthetic workload's leases, drawn up front from the workload stream: arrivals, templates
 * and hold times depend only on the seed, never on the policy under test.
 */
export const syntheticPlans = (s: Scenario, w: Extract<Scenario["workload"], { kind: "synthetic" }>, catalog: SimCatalog, measured: MeasuredData, rng: Rng): LeasePlan[] => {
  const gap = compile(w.interarrival, measured);
  const holds = new Map(w.templates.map((t) => [t.name, t.hold && compile(t.hold, measured)]));
  const services = new Map(w.templates.map((t) => [t.name, compile(t.requests.serviceTime, measured)]));
  const plans: LeasePlan[] = [];
  let at = 0;
  for (let k = 0; k < w.leases; k++) {
    at += gap(rng);
    if (at >= s.duration) break;
    const t = pickWeighted(w.templates, rng);
    const hold = holds.get(t.name);
    const name = `${t.name}-${k}`;
    const spec = leaseSpecOf(t, name, s, catalog);
    plans.push({
      id: `lease-${k}`,
      holder: `client-${k}`,
      template: t.name,
      spec,
      models: t.models.map((m) => catalog.facts(catalog.named(m))),
      arriveAt: Math.round(at),
      releaseAt: hold ? Math.round(at + hold(rng)) : undefined,
      requests: { kind: "poisson", rate: t.requests.rate },
      serviceTime: services.get(t.name)!,
      serviceMean: meanOf(t.requests.serviceTime, measured),
      reacquire: false,
    });
  }
  return plans;
};
