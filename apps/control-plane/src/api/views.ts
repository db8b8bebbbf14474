import {
  formatBytes,
  formatDuration,
  formatMilliCpu,
  expiresAt,
  type Resources,
  type CandidateVerdict,
  type DecisionRecord,
  type LeaseRecord,
  type LeaseSpec,
  type PoolSpec,
  type ServerRecord,
  type Snapshot,
} from "@berth/core";
import { leasePhaseName, msToTimestamp, type Input } from "@berth/api/berth";
import type * as T from "@berth/api/berth";

// Snapshot records -> berth.v1 messages (what clients see). Plain functions of the snapshot.

type Out<X> = Input<X>;

const resourcesView = (r: Resources): Out<T.Resources> => ({
  gpuMemory: formatBytes(r.gpuMemory),
  gpus: r.gpus,
  gpuMilli: r.gpuMilli,
  cpu: formatMilliCpu(r.cpu),
  memory: formatBytes(r.memory),
  gpuModels: [...r.gpuModels],
});

const ts = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) || ms <= 0 ? null : msToTimestamp(ms));

export const leaseSpecView = (spec: LeaseSpec): Out<T.LeaseSpec> => ({
  name: spec.name,
  models: spec.models.map((m) => ({ name: m.name, version: m.version ?? 0, repository: m.repository })),
  pool: spec.where.kind === "pool" ? spec.where.pool : "",
  quota: spec.where.kind === "pool" ? formatBytes(spec.where.quota) : "",
  resources: resourcesView(spec.resources),
  image: spec.image,
  minDuration: formatDuration(spec.minDuration),
  renewal: { enabled: spec.renewal.enabled, activityWindow: formatDuration(spec.renewal.activityWindow) },
  autoscaling: spec.autoscaling === undefined ? null : { ...spec.autoscaling, mode: spec.autoscaling.mode ?? "" },
  colocation: { with: [...spec.colocation.with], notWith: [...spec.colocation.notWith] },
  labels: { ...spec.labels },
});

export const leaseView = (
  snapshot: Snapshot,
  lease: LeaseRecord,
  endpoints: (serverId: string) => readonly string[] = () => [],
  grpcEndpoints: (serverId: string) => readonly string[] = () => [],
): Out<T.Lease> => {
  const server = lease.placement === undefined ? undefined : snapshot.servers[lease.placement.serverId];
  const first = server?.replicas[0];
  return {
    id: lease.id,
    name: lease.spec.name,
    tenant: lease.spec.tenant,
    spec: leaseSpecView(lease.spec),
    phase: leasePhaseName(lease.phase),
    placement:
      server === undefined
        ? null
        : {
            serverId: server.id,
            node: first?.node ?? "",
            gpuIndices: first?.gpus.map((g) => g.index) ?? [],
            replicas: server.replicas.length,
            readyReplicas: server.readyReplicas,
            endpoints: [...endpoints(server.id)],
            grpcEndpoints: [...grpcEndpoints(server.id)],
          },
    createdAt: ts(lease.createdAt),
    // Until the lease expires by core's clock rules: the latest of its minimum duration (from its
    // first Ready), its explicit renewals and its activity renewal (not the renewals alone).
    heldUntil: ts(expiresAt(lease)),
    expiresAt: ts(lease.expiresAt),
    lastActivityAt: ts(lease.lastActivityAt),
    conditions: lease.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: "", lastTransition: ts(c.at) })),
    failureReason: lease.failure?.code ?? "",
    failureMessage: lease.failure?.message ?? "",
    generation: lease.conditions.length,
  };
};

const verdictView = (v: CandidateVerdict): Out<T.CandidateVerdict> => ({
  candidate: v.candidate,
  code: v.code,
  score: v.score ?? 0,
  reasons: v.reasons.map((r) => ({ plugin: r.plugin, reason: r.reason, need: r.need ?? 0, free: r.free ?? 0 })),
});

export const decisionView = (d: DecisionRecord): Out<T.Decision> => ({
  at: ts(d.at),
  kind: d.kind.toLowerCase(),
  policy: d.policy,
  outcome: d.serverId === undefined ? d.outcome : `${d.outcome} (${d.serverId}${d.node !== undefined ? ` on ${d.node}` : ""})`,
  verdicts: [
    ...(d.serverVerdicts ?? []).map(verdictView),
    ...(d.nodeVerdicts ?? []).map(verdictView),
    ...(d.evictionVerdicts ?? []).map((e) => ({ candidate: e.leaseId, code: e.code, score: e.cost ?? 0, reasons: [{ plugin: "eviction", reason: e.reason, need: 0, free: 0 }] })),
  ],
  scaling:
    d.scaling === undefined
      ? null
      : { from: d.scaling.from, to: d.scaling.to, reason: Object.fromEntries(Object.entries(d.scaling.reason).map(([k, v]) => [k, String(v)])) },
});

export const poolSpecView = (spec: PoolSpec): Out<T.PoolSpec> => ({
  name: spec.name,
  image: spec.template.image,
  resources: resourcesView(spec.template.resources),
  minInstances: spec.minInstances,
  maxInstances: spec.maxInstances,
  quotaPerInstance: formatBytes(spec.quotaPerInstance),
  group: spec.template.group,
});

const poolServers = (snapshot: Snapshot, pool: string): ServerRecord[] => Object.values(snapshot.servers).filter((s) => s.pool === pool);

export const poolView = (snapshot: Snapshot, spec: PoolSpec): Out<T.Pool> => ({ spec: poolSpecView(spec), instances: poolServers(snapshot, spec.name).length });

export const poolStatusView = (snapshot: Snapshot, spec: PoolSpec): Out<T.PoolStatus> => ({
  pool: poolView(snapshot, spec),
  instances: poolServers(snapshot, spec.name).map((s) => ({
    serverId: s.id,
    quotaBytes: spec.quotaPerInstance,
    committedBytes: s.leases.reduce((sum, id) => sum + (snapshot.leases[id]?.memory ?? 0), 0),
    leases: s.leases.map((id) => snapshot.leases[id]?.spec.name ?? id),
  })),
});

export const serverView = (snapshot: Snapshot, server: ServerRecord, endpoints: readonly string[], grpcEndpoints: readonly string[] = []): Out<T.Server> => {
  const first = server.replicas[0];
  const leases = server.leases.map((id) => snapshot.leases[id]).filter((l): l is LeaseRecord => l !== undefined);
  const node = first === undefined ? undefined : snapshot.nodes[first.node];
  return {
    id: server.id,
    state: server.state,
    group: server.group,
    pool: server.pool ?? "",
    node: first?.node ?? "",
    image: server.template.image,
    replicas: server.replicas.length,
    readyReplicas: server.readyReplicas,
    gpus: (first?.gpus ?? []).map((g) => {
      const gpu = node?.node.gpus.find((x) => x.index === g.index);
      return { index: g.index, model: gpu?.model ?? "", memoryBytes: gpu?.memory ?? 0, committedBytes: node?.use.gpus[g.index]?.memory ?? 0, measuredBytes: 0 };
    }),
    memoryCommittedBytes: leases.reduce((sum, l) => sum + l.memory, 0),
    memoryMeasuredBytes: leases.reduce((sum, l) => sum + (l.measuredMemory ?? 0), 0),
    leases: leases.map((l) => l.spec.name),
    endpoints: [...endpoints],
    grpcEndpoints: [...grpcEndpoints],
  };
};
