import type { Snapshot } from "@berth/core/decide/types";
import type { Step } from "../run/control-loop.js";
import type { World } from "../run/world.js";

/** One broken invariant, as data: which, and the numbers that show it. */
export interface Violation {
  readonly invariant: "NoOverCommit" | "GroupsNeverMixed" | "NoLeaseLost" | "NoDoublePlacement" | "AutoscalerWithinBounds" | "EventuallyReadyOrFailed";
  readonly at: number;
  readonly detail: string;
}

const TERMINAL = new Set(["Released", "Failed"]);

/** Decide's own accounting never commits more than a node has. */
export const snapshotOverCommits = (snap: Snapshot): string[] => {
  const out: string[] = [];
  for (const [name, r] of Object.entries(snap.nodes)) {
    if (r.use.cpu > r.node.cpu) out.push(`${name}: cpu ${r.use.cpu} > ${r.node.cpu}`);
    if (r.use.memory > r.node.memory) out.push(`${name}: memory ${r.use.memory} > ${r.node.memory}`);
    r.use.gpus.forEach((g, i) => {
      const gpu = r.node.gpus[i];
      if (g.milli > 1000) out.push(`${name}/gpu${i}: ${g.milli} milli > 1000`);
      if (gpu && g.memory > gpu.memory) out.push(`${name}/gpu${i}: memory ${g.memory} > ${gpu.memory}`);
    });
  }
  return out;
};

/** Per GPU, the groups of the servers decide placed on it: never more than one. */
export const snapshotMixedGroups = (snap: Snapshot): string[] => {
  const groups = new Map<string, Set<string>>();
  for (const s of Object.values(snap.servers)) {
    for (const p of s.replicas) {
      for (const g of p.gpus) {
        const key = `${p.node}/gpu${g.index}`;
        const set = groups.get(key) ?? new Set<string>();
        set.add(s.group);
        groups.set(key, set);
      }
    }
  }
  const out: string[] = [];
  for (const [gpu, set] of groups) if (set.size > 1) out.push(`${gpu}: ${[...set].sort().join(" + ")}`);
  for (const l of Object.values(snap.leases)) {
    const server = l.placement && snap.servers[l.placement.serverId];
    if (server && server.group !== l.group) out.push(`lease ${l.id} (${l.group}) on server ${server.id} (${server.group})`);
  }
  return out;
};

/** Each lease bound to at most one server, and bindings agree in both directions. */
export const placementProblems = (snap: Snapshot): string[] => {
  const out: string[] = [];
  const holder = new Map<string, string>();
  for (const s of Object.values(snap.servers)) {
    for (const id of s.leases) {
      const other = holder.get(id);
      if (other !== undefined) out.push(`lease ${id} on both ${other} and ${s.id}`);
      holder.set(id, s.id);
      const lease = snap.leases[id];
      if (!lease) out.push(`server ${s.id} lists unknown lease ${id}`);
      else if (lease.placement?.serverId !== s.id) out.push(`server ${s.id} lists lease ${id}, whose placement is ${lease.placement?.serverId ?? "none"}`);
    }
  }
  for (const l of Object.values(snap.leases)) {
    if (!l.placement) continue;
    if (!snap.servers[l.placement.serverId]) out.push(`lease ${l.id} placed on missing server ${l.placement.serverId}`);
    else if (holder.get(l.id) !== l.placement.serverId) out.push(`lease ${l.id} placed on ${l.placement.serverId}, which does not list it`);
  }
  return out;
};

/** Servers of autoscaled bespoke leases keep their replica count within [1, maxReplicas]. */
export const autoscalerProblems = (snap: Snapshot): string[] => {
  const out: string[] = [];
  for (const s of Object.values(snap.servers)) {
    if (s.kind !== "bespoke" || s.owner === undefined) continue;
    const a = snap.leases[s.owner]?.spec.autoscaling;
    // A lease without autoscaling may own more replicas than one when it adopted a warm
    // server of an autoscaled lease; that is adoption's choice, not the autoscaler's.
    if (!a) continue;
    if (s.replicas.length > a.maxReplicas) out.push(`server ${s.id}: ${s.replicas.length} replicas > max ${a.maxReplicas}`);
    if (s.replicas.length < 1) out.push(`server ${s.id}: no replicas`);
  }
  return out;
};

/**
 * Checks the invariants after every decided event; records the first violations. Lease
 * phases are followed through decide's phase changes, so a lease that vanishes from the
 * snapshot without ending (Released/Failed) is caught as lost.
 */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  /** Last phase of every lease ever seen, and whether it was ever Ready. */
  readonly lastPhase = new Map<string, string>();
  readonly everReady = new Set<string>();
  /** Leases decide refused outright (the API would answer with the rejection's code and message). */
  readonly refused = new Map<string, string>();
  private readonly limit = 20;

  readonly observe = (step: Step, world: World): void => {
    const at = world.sim.now;
    const snap = step.result.snapshot;
    // phases are followed always; the checks stop once enough violations are recorded
    if (step.event._tag === "LeaseRequested" && step.result.rejections.length > 0) {
      const r = step.result.rejections[0];
      this.refused.set(step.event.id, `${r.code}: ${r.message}`);
      if (r.message === "") this.violations.push({ invariant: "EventuallyReadyOrFailed", at, detail: `lease ${step.event.id} refused without a reason` });
    }
    for (const c of step.result.changes) {
      this.lastPhase.set(c.leaseId, c.to);
      if (c.to === "Ready") this.everReady.add(c.leaseId);
    }
    if (this.violations.length >= this.limit) return;
    const add = (invariant: Violation["invariant"], details: readonly string[]) => {
      for (const detail of details.slice(0, 5)) this.violations.push({ invariant, at, detail });
    };
    add("NoOverCommit", world.physical.overCommits().map((o) => `physical ${o.node}${o.gpu !== undefined ? `/gpu${o.gpu}` : ""} ${o.what}: ${o.used} > ${o.capacity}`));
    add("NoOverCommit", snapshotOverCommits(snap));
    add("GroupsNeverMixed", world.physical.mixedGroups().map((m) => `physical ${m.node}/gpu${m.gpu}: ${m.groups.join(" + ")}`));
    add("GroupsNeverMixed", snapshotMixedGroups(snap));
    add("NoDoublePlacement", placementProblems(snap));
    add("AutoscalerWithinBounds", autoscalerProblems(snap));
    add("AutoscalerWithinBounds", step.result.intents.flatMap((i) => {
      if (i._tag !== "RecordDecision" || i.decision.kind !== "Scaling" || !i.decision.scaling) return [];
      const a = (snap.leases[i.decision.leaseId] ?? step.before.leases[i.decision.leaseId])?.spec.autoscaling;
      const to = i.decision.scaling.to;
      return a && (to < a.minReplicas || to > a.maxReplicas) ? [`lease ${i.decision.leaseId} scaled to ${to}, outside [${a.minReplicas}, ${a.maxReplicas}]`] : [];
    }));
    const lost: string[] = [];
    for (const [id, phase] of this.lastPhase) {
      if (!snap.leases[id] && !TERMINAL.has(phase)) lost.push(`lease ${id} vanished while ${phase}`);
    }
    add("NoLeaseLost", lost);
  };

  /**
   * At the end: every lease asked for reached Ready at some point, or ended Failed with a
   * coded reason (or was refused with one), or was let go by its client, or is still waiting only for a load or
   * start-up that began less than `grace` ms ago.
   */
  finish(world: World, grace: number): void {
    const snap = world.loop.snapshot;
    const now = world.sim.now;
    const problems: string[] = [];
    for (const [id, askedAt] of world.requestedAt) {
      if (this.everReady.has(id) || this.refused.has(id)) continue;
      const lease = snap.leases[id];
      const phase = lease?.phase ?? this.lastPhase.get(id);
      if (phase === undefined) { problems.push(`lease ${id} was asked for at ${askedAt} but decide never took it`); continue; }
      if (phase === "Failed") {
        if (lease && (!lease.failure || lease.failure.code === undefined || lease.failure.message === "")) problems.push(`lease ${id} Failed without a reason`);
        continue;
      }
      if (phase === "Released") continue;
      if (now - (lease?.phaseSince ?? askedAt) <= grace) continue;
      problems.push(`lease ${id} still ${phase} since ${lease?.phaseSince ?? askedAt} (now ${now})`);
    }
    for (const detail of problems.slice(0, 5)) this.violations.push({ invariant: "EventuallyReadyOrFailed", at: now, detail });
  }
}
