// How each Berth resource prints: table columns, JSON/YAML objects with stable camelCase keys,
// and porcelain fields. Relative times (AGE, EXPIRES) need `now`; JSON and porcelain carry
// absolute ISO timestamps instead, so scripts never parse "5m".
import {
  leasePhaseWord, timestampToMs,
  type Lease, type ModelRef, type Pool, type InstanceUse, type Server, type ModelInfo, type Decision, type LeaseEvent,
} from "@berth/api/berth";
import type { Target } from "./config.js";
import { age, humanBytes, iso, orDash, until, type View } from "./output.js";

/** `name[:version][@repository]`, the form -m takes. */
export const modelRefText = (ref: ModelRef): string =>
  `${ref.name}${ref.version > 0 ? `:${ref.version}` : ""}${ref.repository === "" ? "" : `@${ref.repository}`}`;

/** "Ready", or "Unknown" for a phase this CLI does not know. */
export const phaseOf = (lease: Lease): string => leasePhaseWord(lease.phase) ?? "Unknown";

const modelsOf = (lease: Lease): string[] => (lease.spec?.models ?? []).map(modelRefText);

export const leaseJson = (lease: Lease) => ({
  name: lease.name,
  id: lease.id,
  tenant: lease.tenant,
  phase: phaseOf(lease),
  models: modelsOf(lease),
  pool: lease.spec?.pool ?? "",
  image: lease.spec?.image ?? "",
  server: lease.placement?.serverId ?? "",
  node: lease.placement?.node ?? "",
  gpus: lease.placement?.gpuIndices ?? [],
  replicas: lease.placement?.replicas ?? 0,
  readyReplicas: lease.placement?.readyReplicas ?? 0,
  endpoints: lease.placement?.endpoints ?? [],
  createdAt: iso(timestampToMs(lease.createdAt)),
  heldUntil: iso(timestampToMs(lease.heldUntil)),
  expiresAt: iso(timestampToMs(lease.expiresAt)),
  lastActivityAt: iso(timestampToMs(lease.lastActivityAt)),
  failureReason: lease.failureReason,
  failureMessage: lease.failureMessage,
  generation: lease.generation,
  conditions: lease.conditions.map((c) => ({
    type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransition: iso(timestampToMs(c.lastTransition)),
  })),
  spec: lease.spec,
});

export const leaseView = (now: number): View<Lease> => ({
  plural: "leases",
  columns: [
    { header: "NAME", value: (l) => l.name },
    { header: "PHASE", value: phaseOf },
    { header: "MODELS", value: (l) => orDash(modelsOf(l).join(",")) },
    { header: "SERVER", value: (l) => orDash(l.placement?.serverId ?? "") },
    { header: "EXPIRES", value: (l) => until(timestampToMs(l.expiresAt), now) },
    { header: "AGE", value: (l) => age(timestampToMs(l.createdAt), now) },
    { header: "POOL", wide: true, value: (l) => orDash(l.spec?.pool ?? "") },
    { header: "NODE", wide: true, value: (l) => orDash(l.placement?.node ?? "") },
    { header: "REPLICAS", wide: true, value: (l) => (l.placement === null ? "-" : `${l.placement.readyReplicas}/${l.placement.replicas}`) },
    { header: "ENDPOINTS", wide: true, value: (l) => orDash((l.placement?.endpoints ?? []).join(",")) },
    { header: "REASON", wide: true, value: (l) => orDash(l.failureReason) },
  ],
  json: leaseJson,
  porcelain: (l) => [
    l.name, phaseOf(l), modelsOf(l).join(","), l.placement?.serverId ?? "",
    iso(timestampToMs(l.expiresAt)) ?? "", iso(timestampToMs(l.createdAt)) ?? "", l.id, l.failureReason,
  ],
});

export const leaseEventView = (now: number): View<LeaseEvent> => {
  const inner = leaseView(now);
  const eventWord = (e: LeaseEvent): string => {
    const rest = e.type.replace(/^TYPE_/, "").toLowerCase();
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  };
  const leaseOf = (e: LeaseEvent): Lease => e.lease ?? ({ name: "", phase: "LEASE_PHASE_UNSPECIFIED", spec: null, placement: null, conditions: [] } as unknown as Lease);
  return {
    plural: "lease events",
    columns: [{ header: "EVENT", value: eventWord }, ...inner.columns.map((c) => ({ ...c, value: (e: LeaseEvent) => c.value(leaseOf(e)) }))],
    json: (e) => ({ type: eventWord(e), lease: e.lease === null ? null : leaseJson(e.lease) }),
    porcelain: (e) => [eventWord(e), ...inner.porcelain(leaseOf(e))],
  };
};

/** `berth lease status NAME` in table form: a description, kubectl-describe style. */
export const describeLease = (lease: Lease, now: number): string => {
  const j = leaseJson(lease);
  const rows: [string, string][] = [
    ["Name", j.name],
    ["ID", orDash(j.id)],
    ["Tenant", orDash(j.tenant)],
    ["Phase", j.phase + (j.failureReason === "" ? "" : ` (${j.failureReason}${j.failureMessage === "" ? "" : `: ${j.failureMessage}`})`)],
    ["Models", orDash(j.models.join(", "))],
    ["Pool", orDash(j.pool)],
    ["Image", orDash(j.image)],
    ["Server", orDash(j.server)],
    ["Node", orDash(j.node)],
    ["Replicas", lease.placement === null ? "-" : `${j.readyReplicas}/${j.replicas} ready`],
    ["Endpoints", orDash(j.endpoints.join(", "))],
    ["Created", j.createdAt === null ? "-" : `${j.createdAt} (${age(timestampToMs(lease.createdAt), now)} ago)`],
    ["Held until", j.heldUntil ?? "-"],
    ["Expires", j.expiresAt === null ? "-" : `${j.expiresAt} (${until(timestampToMs(lease.expiresAt), now)})`],
    ["Last activity", j.lastActivityAt ?? "-"],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  let out = rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join("\n") + "\n";
  if (lease.conditions.length > 0) {
    out += "Conditions:\n";
    for (const c of lease.conditions) out += `  ${c.type}=${c.status ? "True" : "False"}  ${c.reason}${c.message === "" ? "" : `: ${c.message}`}\n`;
  }
  return out;
};

export const poolView: View<Pool> = {
  plural: "pools",
  columns: [
    { header: "NAME", value: (p) => p.spec?.name ?? "" },
    { header: "IMAGE", value: (p) => orDash(p.spec?.image ?? "") },
    { header: "GPU-MEMORY", value: (p) => orDash(p.spec?.resources?.gpuMemory ?? "") },
    { header: "QUOTA", value: (p) => orDash(p.spec?.quotaPerInstance ?? "") },
    { header: "INSTANCES", value: (p) => `${p.instances} (${p.spec?.minInstances ?? 0}-${p.spec?.maxInstances ?? 0})` },
    { header: "GROUP", wide: true, value: (p) => orDash(p.spec?.group ?? "") },
    { header: "GPUS", wide: true, value: (p) => String(p.spec?.resources?.gpus ?? 0) },
  ],
  json: (p) => ({
    name: p.spec?.name ?? "",
    image: p.spec?.image ?? "",
    group: p.spec?.group ?? "",
    resources: p.spec?.resources ?? null,
    minInstances: p.spec?.minInstances ?? 0,
    maxInstances: p.spec?.maxInstances ?? 0,
    quotaPerInstance: p.spec?.quotaPerInstance ?? "",
    instances: p.instances,
  }),
  porcelain: (p) => [
    p.spec?.name ?? "", p.spec?.image ?? "", p.spec?.resources?.gpuMemory ?? "", p.spec?.quotaPerInstance ?? "",
    String(p.instances), String(p.spec?.minInstances ?? 0), String(p.spec?.maxInstances ?? 0),
  ],
};

export const instanceUseView: View<InstanceUse> = {
  plural: "instances",
  columns: [
    { header: "SERVER", value: (i) => i.serverId },
    { header: "QUOTA", value: (i) => humanBytes(i.quotaBytes) },
    { header: "COMMITTED", value: (i) => humanBytes(i.committedBytes) },
    { header: "LEASES", value: (i) => orDash(i.leases.join(",")) },
  ],
  json: (i) => ({ serverId: i.serverId, quotaBytes: i.quotaBytes, committedBytes: i.committedBytes, leases: i.leases }),
  porcelain: (i) => [i.serverId, String(i.quotaBytes), String(i.committedBytes), i.leases.join(",")],
};

export const serverView: View<Server> = {
  plural: "servers",
  columns: [
    { header: "ID", value: (s) => s.id },
    { header: "STATE", value: (s) => orDash(s.state) },
    { header: "GROUP", value: (s) => orDash(s.group) },
    { header: "POOL", value: (s) => orDash(s.pool) },
    { header: "NODE", value: (s) => orDash(s.node) },
    { header: "REPLICAS", value: (s) => `${s.readyReplicas}/${s.replicas}` },
    { header: "GPU-MEMORY", value: (s) => `${humanBytes(s.memoryCommittedBytes)} committed` },
    { header: "LEASES", value: (s) => String(s.leases.length) },
    { header: "IMAGE", wide: true, value: (s) => orDash(s.image) },
    { header: "MEASURED", wide: true, value: (s) => humanBytes(s.memoryMeasuredBytes) },
    { header: "ENDPOINTS", wide: true, value: (s) => orDash(s.endpoints.join(",")) },
  ],
  json: (s) => ({ ...s }),
  porcelain: (s) => [s.id, s.state, s.group, s.pool, s.node, String(s.replicas), String(s.readyReplicas), String(s.memoryCommittedBytes), s.leases.join(",")],
};

export const modelView: View<ModelInfo> = {
  plural: "models",
  columns: [
    { header: "REPOSITORY", value: (m) => m.repository },
    { header: "NAME", value: (m) => m.name },
    { header: "VERSIONS", value: (m) => orDash(m.versions.join(",")) },
    { header: "PLATFORM", value: (m) => orDash(m.platform) },
    { header: "GROUP", wide: true, value: (m) => orDash(m.group) },
    { header: "SIZE", value: (m) => (m.sizeBytes === 0 ? "-" : humanBytes(m.sizeBytes)) },
  ],
  json: (m) => ({ ...m }),
  porcelain: (m) => [m.repository, m.name, m.versions.join(","), m.platform, m.group, String(m.sizeBytes)],
};

export const imageView: View<string> = {
  plural: "images",
  columns: [{ header: "IMAGE", value: (i) => i }],
  json: (i) => i,
  porcelain: (i) => [i],
};

export const targetView = (current: string | undefined): View<Target> => ({
  plural: "targets",
  columns: [
    { header: "CURRENT", value: (t) => (t.name === current ? "*" : "") },
    { header: "NAME", value: (t) => t.name },
    { header: "ADDRESS", value: (t) => t.address },
    { header: "TLS", value: (t) => (t.tls === undefined ? "no" : "yes") },
    { header: "TOKEN", value: (t) => (t.token === undefined ? "no" : "yes") },
  ],
  // Tokens never print: a listing is often pasted into chats and bug reports.
  json: (t) => ({ name: t.name, address: t.address, current: t.name === current, tls: t.tls ?? null, token: t.token !== undefined }),
  porcelain: (t) => [t.name, t.address, t.name === current ? "current" : "", t.tls === undefined ? "plaintext" : "tls"],
});

export const decisionLines = (decisions: readonly Decision[]): string => {
  let out = "";
  for (const d of decisions) {
    out += `${iso(timestampToMs(d.at)) ?? "-"}  ${d.kind}  policy=${orDash(d.policy)}  ${d.outcome}\n`;
    if (d.scaling) {
      const reason = Object.entries(d.scaling.reason).map(([k, v]) => `${k}=${v}`);
      out += `    replicas ${d.scaling.from} -> ${d.scaling.to}${reason.length === 0 ? "" : `  ${reason.join(" ")}`}\n`;
    }
    for (const v of d.verdicts) {
      const reasons = v.reasons.map((r) => `${r.plugin}:${r.reason}${r.need !== 0 || r.free !== 0 ? ` (need ${r.need}, free ${r.free})` : ""}`);
      out += `    ${v.candidate.padEnd(16)} ${v.code.padEnd(10)} score=${v.score}${reasons.length === 0 ? "" : `  ${reasons.join("; ")}`}\n`;
    }
  }
  return out;
};
