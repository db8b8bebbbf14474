import { column, readCsv } from "../workload/shared-data.js";
import { measuredKey, type MeasuredData } from "../workload/distribution.js";
import type { Distribution } from "./distribution.js";
import type { Scenario } from "./schema.js";
import type { Problem } from "./load.js";

/** Every distribution in a scenario, with its path (for error messages). */
const distributions = (s: Scenario): [string, Distribution][] => {
  const out: [string, Distribution][] = [["servers.startup", s.servers.startup]];
  s.models.forEach((m, i) => out.push([`models[${i}].loadTime`, m.loadTime]));
  const fromWorkload = (w: Scenario["workload"], at: string) => {
    const templates = w.kind === "synthetic" ? w.templates.map((t, i) => [`${at}.templates[${i}]`, t] as const) : [[`${at}.template`, w.template] as const];
    if (w.kind === "synthetic") out.push([`${at}.interarrival`, w.interarrival]);
    for (const [p, t] of templates) {
      if (t.hold) out.push([`${p}.hold`, t.hold]);
      out.push([`${p}.requests.serviceTime`, t.requests.serviceTime]);
    }
  };
  fromWorkload(s.workload, "workload");
  s.experiment?.workloads?.forEach((w, i) => fromWorkload(w.workload, `experiment.workloads[${i}].workload`));
  return out;
};

/**
 * Reads the measured data a scenario refers to (from the shared data folder). The only I/O a
 * run needs besides trace workloads; everything after this is pure computation.
 */
export const loadMeasuredData = (s: Scenario): { readonly data: MeasuredData; readonly problems: Problem[] } => {
  const data = new Map<string, number[]>();
  const problems: Problem[] = [];
  for (const [path, d] of distributions(s)) {
    if (d.kind !== "measured") continue;
    const key = measuredKey(d.file, d.column);
    if (data.has(key)) continue;
    try {
      const csv = readCsv(d.file);
      const c = column(csv, d.column);
      const values = csv.rows.map((r) => Number(r[c])).filter((v) => Number.isFinite(v) && v >= 0);
      if (values.length === 0) problems.push({ path, message: `no numeric values in column ${d.column} of ${d.file}` });
      else data.set(key, values);
    } catch (e) {
      problems.push({ path: `${path}.file`, message: (e as Error).message });
    }
  }
  return { data, problems };
};
