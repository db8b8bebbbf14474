import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideOwned, ownedCopy, type Event, type Snapshot } from "../../src/decide/index.js";
import { registryPolicies } from "../../src/decide/registries.js";
import { heldUntil, expiresAt } from "../../src/lease/clock.js";
import { isTerminal } from "../../src/lease/phase.js";
import { MILLI_PER_GPU } from "../../src/units.js";
import { anyWorldArb, commandArb, formatTrace, runWorld, testConfig, type Step } from "./harness.js";

class InvariantBroken extends Error {}

const broken = (what: string, trace: readonly Event[]): never => {
  throw new InvariantBroken(`${what}\nevent trace:\n${formatTrace(trace)}`);
};

/** What the servers' replicas commit on each node and GPU, recomputed from scratch. */
const committed = (s: Snapshot) => {
  const perNode = new Map<string, { cpu: number; memory: number; milli: number[]; gpuMemory: number[]; groups: Set<string>[] }>();
  for (const name of Object.keys(s.nodes)) {
    const n = s.nodes[name]!.node;
    perNode.set(name, { cpu: 0, memory: 0, milli: n.gpus.map(() => 0), gpuMemory: n.gpus.map(() => 0), groups: n.gpus.map(() => new Set<string>()) });
  }
  for (const server of Object.values(s.servers)) {
    for (const replica of server.replicas) {
      const c = perNode.get(replica.node)!;
      c.cpu += server.template.resources.cpu;
      c.memory += server.template.resources.memory;
      for (const a of replica.gpus) {
        c.milli[a.index]! += a.milli;
        c.gpuMemory[a.index]! += a.memory;
        c.groups[a.index]!.add(server.group);
      }
    }
  }
  return perNode;
};

const checkStep = ({ before, event, result }: Step, trace: readonly Event[]): void => {
  const s = result.snapshot;
  const now = s.now;
  for (const r of result.rejections) if (r.code === "Internal") broken(`internal rejection: ${r.message}`, trace);
  if (s.now < before.now) broken("time went back", trace);

  // No GPU, cpu or memory over-committed; the snapshot's accounting matches the servers; groups never mix on a GPU.
  for (const [name, c] of committed(s)) {
    const rec = s.nodes[name]!;
    if (c.cpu > rec.node.cpu || c.memory > rec.node.memory) broken(`node ${name} cpu/memory over-committed`, trace);
    if (Math.abs(rec.use.cpu - c.cpu) > 1e-6 || Math.abs(rec.use.memory - c.memory) > 1e-6) broken(`node ${name} accounting drifted`, trace);
    rec.node.gpus.forEach((gpu, g) => {
      if (c.milli[g]! > MILLI_PER_GPU) broken(`GPU ${name}/${g} milli over-committed: ${c.milli[g]}`, trace);
      if (c.gpuMemory[g]! > gpu.memory) broken(`GPU ${name}/${g} memory over-committed: ${c.gpuMemory[g]} > ${gpu.memory}`, trace);
      if (c.groups[g]!.size > 1) broken(`GPU ${name}/${g} mixes groups ${[...c.groups[g]!].join(",")}`, trace);
      if (rec.use.gpus[g]!.milli !== c.milli[g] || rec.use.gpus[g]!.memory !== c.gpuMemory[g]) broken(`GPU ${name}/${g} accounting drifted`, trace);
      const hosted = [...c.groups[g]!][0];
      if (hosted !== undefined && rec.gpuGroups[g] !== hosted) broken(`GPU ${name}/${g} group not recorded`, trace);
    });
  }

  // Every lease is where its placement says, exactly once; servers host one group, within capacity.
  const seen = new Map<string, string>();
  for (const server of Object.values(s.servers)) {
    let used = 0;
    for (const id of server.leases) {
      const lease = s.leases[id];
      if (!lease) broken(`server ${server.id} lists unknown lease ${id}`, trace);
      if (seen.has(id)) broken(`lease ${id} double-placed on ${seen.get(id)} and ${server.id}`, trace);
      seen.set(id, server.id);
      if (lease!.placement?.serverId !== server.id) broken(`lease ${id} listed on ${server.id} but placed on ${lease!.placement?.serverId}`, trace);
      if (lease!.group !== server.group) broken(`lease ${id} (${lease!.group}) on a ${server.group} server`, trace);
      used += lease!.memory;
    }
    if (server.kind === "pool" && used > server.capacity) broken(`pool server ${server.id} over capacity: ${used} > ${server.capacity}`, trace);
    if (server.kind === "bespoke" && server.leases.length > 1) broken(`bespoke server ${server.id} shared`, trace);
  }
  for (const lease of Object.values(s.leases)) {
    if (isTerminal(lease.phase)) {
      if (lease.placement) broken(`terminal lease ${lease.id} still placed`, trace);
      continue;
    }
    if (!lease.placement) broken(`${lease.phase} lease ${lease.id} has no placement`, trace);
    if (seen.get(lease.id) !== lease.placement!.serverId) broken(`lease ${lease.id} missing from its server's list`, trace);
    if (lease.phase === "Ready" && s.servers[lease.placement!.serverId]?.state !== "Ready") broken(`Ready lease ${lease.id} on a server that is not Ready`, trace);
    if (lease.spec.where.kind === "pool") {
      const limit = Math.min(lease.spec.where.quota, s.pools[lease.spec.where.pool]?.quotaPerInstance ?? Infinity);
      if (lease.memory > limit) broken(`pool lease ${lease.id} over its quota`, trace);
    }
    // Expiry is never before the minimum duration, and the cached expiry is the computed one.
    if (lease.expiresAt < heldUntil(lease) || lease.expiresAt !== expiresAt(lease)) broken(`lease ${lease.id} expiry ${lease.expiresAt} wrong`, trace);
  }

  // Co-location: live leases that refuse each other share no server, and, when both are bespoke, no node.
  const live = Object.values(s.leases).filter((l) => ["Pending", "Placing", "Loading", "Ready"].includes(l.phase) && l.placement);
  for (const a of live)
    for (const b of live) {
      if (a === b || !a.spec.colocation.notWith.includes(b.spec.name)) continue;
      if (a.placement!.serverId === b.placement!.serverId) broken(`${a.id} shares server with ${b.id} despite notWith`, trace);
      if (a.spec.where.kind === "bespoke" && b.spec.where.kind === "bespoke") {
        const nodes = (id: string) => new Set(s.servers[id]!.replicas.map((r) => r.node));
        const na = nodes(a.placement!.serverId);
        for (const n of nodes(b.placement!.serverId)) if (na.has(n)) broken(`${a.id} and ${b.id} share node ${n} despite notWith`, trace);
      }
    }

  // Names belong to live leases, one each.
  for (const [name, id] of Object.entries(s.names)) {
    const lease = s.leases[id];
    if (!lease || lease.spec.name !== name || !["Pending", "Placing", "Loading", "Ready"].includes(lease.phase)) broken(`name ${name} points at ${id} (${lease?.phase})`, trace);
  }

  // No lease lost: every lease of the previous snapshot is still there.
  for (const id of Object.keys(before.leases)) if (!s.leases[id]) broken(`lease ${id} lost`, trace);
  if (event._tag === "LeaseRequested" && result.rejections.length === 0 && !s.leases[event.id]) broken(`lease ${event.id} accepted but absent`, trace);

  for (const change of result.changes) {
    const lease = s.leases[change.leaseId]!;
    // Expiry never before the minimum duration.
    if (change.to === "Expiring" && now < heldUntil(lease)) broken(`lease ${lease.id} expired at ${now} before ${heldUntil(lease)}`, trace);
  }

  for (const intent of result.intents) {
    if (intent._tag === "RecordDecision" && intent.decision.victims) {
      for (const victim of intent.decision.victims) {
        const lease = before.leases[victim];
        if (!lease || heldUntil(lease) > now) broken(`eviction picked protected lease ${victim}`, trace);
        if (intent.decision.kind === "Eviction" && intent.decision.leaseId !== victim && !intent.decision.victims.includes(intent.decision.leaseId)) broken("eviction record names a lease that is no victim", trace);
        if (lease!.phase !== "Expiring") broken(`eviction picked a ${lease!.phase} lease ${victim}`, trace);
      }
    }
    if (intent._tag === "RecordDecision" && intent.decision.kind === "Scaling") {
      // The autoscaler's own recommendation (before decide's safety clamp) is within bounds too.
      const owner = s.leases[intent.decision.leaseId]!;
      const a = owner.spec.autoscaling!;
      const recommended = Number(intent.decision.scaling!.reason["recommended"]);
      if (!(recommended >= a.minReplicas && recommended <= a.maxReplicas)) broken(`autoscaler ${a.policy} recommended ${recommended} outside [${a.minReplicas}, ${a.maxReplicas}]`, trace);
    }
    if (intent._tag === "ScaleServer") {
      const server = s.servers[intent.serverId]!;
      const owner = s.leases[server.owner!]!;
      const a = owner.spec.autoscaling!;
      if (intent.replicas < a.minReplicas || intent.replicas > a.maxReplicas) broken(`scaled ${server.id} to ${intent.replicas} outside [${a.minReplicas}, ${a.maxReplicas}]`, trace);
    }
  }
};

/** Where a value is not JSON's plain data (class instances, Maps, undefined, non-finite numbers). */
const plainDataProblems = (value: unknown, path: string): string[] => {
  if (value === undefined) return [`${path}: undefined`];
  if (value === null || typeof value === "string" || typeof value === "boolean") return [];
  if (typeof value === "number") return Number.isFinite(value) ? [] : [`${path}: ${value}`];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainDataProblems(v, `${path}[${i}]`));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    // An undefined property is dropped by JSON and reads back the same; in an array it would not.
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => (v === undefined ? [] : plainDataProblems(v, `${path}.${k}`)));
  return [`${path}: ${typeof value} ${Object.prototype.toString.call(value)}`];
};

describe("decide properties over random event sequences", () => {
  it("keeps every invariant after every event", () => {
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 80 }), (world, commands) => {
        runWorld(world, commands, testConfig, checkStep);
      }),
      { numRuns: Number(process.env.DECIDE_RUNS ?? 150) },
    );
  });

  it("is deterministic and pure: same inputs, same outputs, input untouched, whatever the policy caches", () => {
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 60 }), (world, commands) => {
        const a = runWorld(world, commands, testConfig, undefined, { checkInputUntouched: true });
        const b = runWorld(world, commands, testConfig, undefined, { freshPolicies: true });
        expect(JSON.stringify(b.trace)).toBe(JSON.stringify(a.trace));
        expect(JSON.stringify(b.steps.map((s) => s.result))).toBe(JSON.stringify(a.steps.map((s) => s.result)));
      }),
      { numRuns: Number(process.env.DECIDE_RUNS ?? 40) },
    );
  });

  it("decideOwned gives the same results as decide", () => {
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 60 }), (world, commands) => {
        const pure = runWorld(world, commands, testConfig);
        const owned = runWorld(world, commands, testConfig, undefined, { owned: true });
        expect(JSON.stringify(owned.trace)).toBe(JSON.stringify(pure.trace));
        const view = (steps: typeof pure.steps) => steps.map((s) => [s.result.intents, s.result.rejections, s.result.changes]);
        expect(JSON.stringify(view(owned.steps))).toBe(JSON.stringify(view(pure.steps)));
        expect(JSON.stringify(owned.steps.at(-1)!.result.snapshot)).toBe(JSON.stringify(pure.steps.at(-1)!.result.snapshot));
      }),
      { numRuns: Number(process.env.DECIDE_RUNS ?? 40) },
    );
  });

  it("decideOwned on an ownedCopy steps a batch in place without touching the original", () => {
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 60 }), fc.nat(), (world, commands, at) => {
        const pure = runWorld(world, commands, testConfig);
        // A batch: from some step on, every event decided in place on one copy.
        const from = at % pure.steps.length;
        const original = pure.steps[from]!.before;
        const before = JSON.stringify(original);
        const policies = registryPolicies(testConfig);
        let state = ownedCopy(original);
        for (const step of pure.steps.slice(from)) state = decideOwned(state, step.event, testConfig, policies).snapshot;
        expect(JSON.stringify(state)).toBe(JSON.stringify(pure.steps.at(-1)!.result.snapshot));
        expect(JSON.stringify(original)).toBe(before);
      }),
      { numRuns: Number(process.env.DECIDE_RUNS ?? 40) },
    );
  });

  it("snapshots survive a JSON round trip (plain data)", () => {
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 60 }), (world, commands) => {
        const { steps } = runWorld(world, commands, testConfig);
        const last = steps.at(-1)!.result.snapshot;
        expect(plainDataProblems(last, "snapshot")).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });

  it("works with explanation off and with the other registered policies", () => {
    const configs = [
      { ...testConfig, explain: false },
      { ...testConfig, placementPolicy: "firstfit", evictionPolicy: "lru", serverPolicy: "least-allocated", keepAlivePolicy: "fixed-1m" },
      { ...testConfig, keepWarm: false },
    ];
    fc.assert(
      fc.property(anyWorldArb, fc.array(commandArb, { minLength: 10, maxLength: 60 }), fc.constantFrom(...configs), (world, commands, config) => {
        runWorld(world, commands, config, checkStep);
      }),
      { numRuns: Number(process.env.DECIDE_RUNS ?? 60) },
    );
  });
});
