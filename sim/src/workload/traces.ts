import type { SimCatalog } from "../backend/catalog.js";
import type { Scenario } from "../scenario/schema.js";
import { compile, meanOf, type MeasuredData } from "./distribution.js";
import { leaseSpecOf, type LeasePlan } from "./plan.js";
import { column, readCsv } from "./shared-data.js";

type TraceWorkload = Extract<Scenario["workload"], { kind: "trace" }>;

/** `2024-11-15 16:57:50` or `2023-11-16 18:17:03.9799600` (UTC) -> epoch ms. */
const parseTimestamp = (text: string): number => {
  const [date, time = "00:00:00"] = text.trim().split(" ");
  const [hms, fraction = "0"] = time.split(".");
  return Date.parse(`${date}T${hms}Z`) + Math.round(Number(`0.${fraction}`) * 1000);
};

/** Request times (ms from the trace's first request, sped up) and the model each asks for. */
const traceRequests = (w: TraceWorkload): { readonly at: number; readonly model: string }[] => {
  const csv = readCsv(w.trace === "alibaba-genai" ? "alibaba-genai/lora_request_trace.csv" : "azure-llm/AzureLLMInferenceTrace_code.csv");
  const timeCol = column(csv, w.trace === "alibaba-genai" ? "gmt_create" : "TIMESTAMP");
  const modelCol = w.trace === "alibaba-genai" ? column(csv, "checkpoint_model_version_id") : -1;
  const rows = csv.rows
    .map((r) => ({ t: parseTimestamp(r[timeCol]), model: modelCol >= 0 ? r[modelCol].toLowerCase() : "" }))
    .filter((r) => Number.isFinite(r.t))
    .sort((a, b) => a.t - b.t);
  const limited = w.limit === undefined ? rows : rows.slice(0, w.limit);
  const t0 = limited.length > 0 ? limited[0].t : 0;
  return limited.map((r) => ({ at: (r.t - t0) / w.speedup, model: r.model }));
};

/**
 * Leases from a real trace. GenAI: one lease per base model, asked for on its first request
 * and again whenever a request finds it gone (an on-demand load), each base model a catalog
 * entry copied from the template's first model. Azure LLM: one lease carrying every request.
 */
export const tracePlans = (s: Scenario, w: TraceWorkload, catalog: SimCatalog, measured: MeasuredData): LeasePlan[] => {
  const requests = traceRequests(w).filter((r) => r.at < s.duration);
  const serviceTime = compile(w.template.requests.serviceTime, measured);
  const serviceMean = meanOf(w.template.requests.serviceTime, measured);
  if (w.trace === "azure-llm") {
    const spec = leaseSpecOf(w.template, w.template.name, s, catalog);
    return [{
      id: "lease-0", holder: "client-0", template: w.template.name, spec,
      models: w.template.models.map((m) => catalog.facts(catalog.named(m))),
      arriveAt: 0, requests: { kind: "times", times: requests.map((r) => r.at) }, serviceTime, serviceMean, reacquire: true,
    }];
  }
  const base = catalog.named(w.template.models[0]);
  const byModel = new Map<string, number[]>();
  for (const r of requests) {
    const list = byModel.get(r.model) ?? [];
    list.push(r.at);
    byModel.set(r.model, list);
  }
  return [...byModel.entries()]
    .sort((a, b) => a[1][0] - b[1][0] || (a[0] < b[0] ? -1 : 1))
    .map(([model, times], k): LeasePlan => {
      const m = catalog.get({ name: model, repository: base.spec.repository }) ?? catalog.add({ ...base.spec, name: model });
      const template = { ...w.template, models: [m.spec.name] as const };
      return {
        id: `lease-${k}`, holder: `client-${k}`, template: w.template.name,
        spec: leaseSpecOf(template, model, s, catalog),
        models: [catalog.facts(m)],
        arriveAt: Math.floor(times[0]), requests: { kind: "times", times }, serviceTime, serviceMean, reacquire: true,
      };
    });
};
