// Picks the replica for one request: the model's candidates from the route table, minus those
// marked down or already tried, handed to the core's replica picker with their outstanding
// counts. Counts the request for its leases' activity and for the replica's load; `done`
// gives the load back. Models without a lease go to their auto-lease policy, or 404.
import { replicaPickers, type ReplicaPickerName } from "@berth/core/picker/registry";
import type { ReplicaLoad, ReplicaPicker } from "@berth/core/picker/types";
import type { Rng } from "@berth/core/random/rng";
import type { ActivityCounter } from "./activity.js";
import type { AutoLeaser } from "./auto-lease.js";
import { refusal, type Refusal } from "./refusal.js";
import type { ReplicaState } from "./replica-state.js";
import type { Candidate, Protocol, RouteTable } from "./route-table.js";
import type { AutoLeasePolicy } from "./route-set.js";

export interface Dispatch {
  readonly kind: "dispatch";
  readonly candidate: Candidate;
  /** How many replicas were eligible (not down, not tried); a retry needs at least one more. */
  readonly eligible: number;
}

export interface Hold {
  readonly kind: "hold";
  readonly policy: Extract<AutoLeasePolicy, { mode: "hold" }>;
}

export type Route = Dispatch | Refusal | Hold;

export class Dispatcher {
  private readonly picker: ReplicaPicker;
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly table: RouteTable,
    private readonly replicas: ReplicaState,
    private readonly activity: ActivityCounter,
    private readonly autoLeaser: AutoLeaser,
    pickerName: ReplicaPickerName,
    private readonly rng: Rng,
  ) {
    this.picker = replicaPickers[pickerName]();
  }

  /**
   * Where a request for `model` goes now. `tried` holds replicas already tried for this
   * request; `afterHold` says the request already waited once (no second auto-lease).
   */
  route(model: string, protocol: Protocol, tried?: ReadonlySet<string>, afterHold = false): Route {
    const routes = this.table.routesFor(model);
    const all = routes?.[protocol];
    if (all === undefined || all.length === 0) {
      const policy = afterHold ? undefined : this.table.autoLeaseFor(model);
      if (policy?.mode === "hold") return { kind: "hold", policy };
      if (policy?.mode === "reject") return this.autoLeaser.reject(model, policy);
      return refusal("NoLease", `no Ready lease holds model '${model}'${routes !== undefined ? ` with a ${protocol} endpoint` : ""}`);
    }
    const eligible: Candidate[] = [];
    for (const c of all) if (!this.replicas.isDown(c.id) && (tried === undefined || !tried.has(c.id))) eligible.push(c);
    if (eligible.length === 0) {
      const down = all.filter((c) => this.replicas.isDown(c.id)).length;
      return refusal("AllReplicasDown", `all ${all.length} replica(s) of model '${model}' are unavailable (${down} marked down after connection failures)`, 1);
    }
    let candidate: Candidate;
    if (eligible.length === 1) candidate = eligible[0];
    else {
      const loads: ReplicaLoad[] = eligible.map((c) => ({ id: c.id, outstanding: this.replicas.outstandingOf(c.id) }));
      const picked = this.picker.pick(loads, this.rng, this.cursors.get(model) ?? 0);
      this.cursors.set(model, picked.cursor);
      candidate = eligible[picked.index];
    }
    this.replicas.begin(candidate.id);
    // A retry is the same request: its activity was counted on the first try.
    if (tried === undefined || tried.size === 0) this.activity.record(candidate.leases);
    return { kind: "dispatch", candidate, eligible: eligible.length };
  }

  /** The request to `candidate` has finished, however it ended. */
  done(candidate: Candidate): void {
    this.replicas.end(candidate.id);
  }
}
