import type { ModelFacts } from "@berth/core/decide/types";
import type { ModelRef } from "@berth/core/spec/types";
import type { ModelSpec, Scenario } from "../scenario/schema.js";
import { compile, type Draw, type MeasuredData } from "../workload/distribution.js";

/** `repository/name`: how the simulator keys a model. */
export const modelKey = (ref: { readonly repository: string; readonly name: string }): string => `${ref.repository}/${ref.name}`;

export interface SimModel {
  readonly spec: ModelSpec;
  readonly ref: ModelRef;
  readonly gpuMemory: number;
  readonly drawLoadTime: Draw;
}

/** The scenario's model catalog, with each load-time distribution compiled once. */
export class SimCatalog {
  private readonly byKey = new Map<string, SimModel>();
  private readonly byName = new Map<string, SimModel>();

  constructor(models: Scenario["models"], private readonly measured: MeasuredData) {
    for (const spec of models) this.add(spec);
  }

  /** Adds a model (trace workloads add one per model the trace names, like a catalog entry). */
  add(spec: ModelSpec): SimModel {
    const ref: ModelRef = { name: spec.name, repository: spec.repository };
    const m: SimModel = { spec, ref, gpuMemory: spec.gpuMemory ?? spec.size, drawLoadTime: compile(spec.loadTime, this.measured) };
    this.byKey.set(modelKey(ref), m);
    this.byName.set(spec.name, m);
    return m;
  }

  get(ref: ModelRef): SimModel | undefined {
    return this.byKey.get(modelKey(ref));
  }

  named(name: string): SimModel {
    const m = this.byName.get(name);
    if (!m) throw new Error(`unknown model ${name}`);
    return m;
  }

  /** What the control plane's catalog lookup would tell decide (declared figures only). */
  facts(m: SimModel): ModelFacts {
    return { model: m.ref, platform: m.spec.platform, group: m.spec.group, size: m.spec.size };
  }

  all(): readonly SimModel[] {
    return [...this.byKey.values()];
  }
}
