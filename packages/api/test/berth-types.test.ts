// berth-types.ts is written by hand; this keeps it honest. Each record below must name exactly
// the keys of its TypeScript interface (the compiler checks that), and the test checks those
// keys against the fields proto-loader decodes from the .proto files, so a field added to
// either side without the other fails here.
import { describe, expect, it } from "vitest";
import * as protoLoader from "@grpc/proto-loader";
import { BERTH_LOADER_OPTIONS, BERTH_PROTO_FILES } from "../src/berth.js";
import type * as T from "../src/berth.js";

type Keys<M> = { readonly [K in keyof Required<M>]: true };

const MESSAGES: Record<string, Keys<object>> = {
  ModelRef: { name: true, version: true, repository: true } satisfies Keys<T.ModelRef>,
  Resources: { gpuMemory: true, gpus: true, gpuMilli: true, cpu: true, memory: true, gpuModels: true } satisfies Keys<T.Resources>,
  Renewal: { enabled: true, activityWindow: true } satisfies Keys<T.Renewal>,
  Autoscaling: { metric: true, target: true, minReplicas: true, maxReplicas: true, policy: true, mode: true } satisfies Keys<T.Autoscaling>,
  Colocation: { with: true, notWith: true } satisfies Keys<T.Colocation>,
  LeaseSpec: {
    name: true, models: true, pool: true, quota: true, resources: true, image: true, minDuration: true, renewal: true,
    autoscaling: true, colocation: true, labels: true,
  } satisfies Keys<T.LeaseSpec>,
  Condition: { type: true, status: true, reason: true, message: true, lastTransition: true } satisfies Keys<T.Condition>,
  Placement: { serverId: true, node: true, gpuIndices: true, replicas: true, readyReplicas: true, endpoints: true, grpcEndpoints: true } satisfies Keys<T.Placement>,
  Lease: {
    id: true, name: true, tenant: true, spec: true, phase: true, placement: true, createdAt: true, heldUntil: true, expiresAt: true,
    lastActivityAt: true, conditions: true, failureReason: true, failureMessage: true, generation: true,
  } satisfies Keys<T.Lease>,
  CreateLeaseRequest: { spec: true, wait: true, waitTimeout: true } satisfies Keys<T.CreateLeaseRequest>,
  CreateLeaseProgress: { lease: true, message: true, done: true } satisfies Keys<T.CreateLeaseProgress>,
  GetLeaseRequest: { name: true } satisfies Keys<T.GetLeaseRequest>,
  ListLeasesRequest: { tenant: true, phases: true, labelSelector: true, pageSize: true, pageToken: true } satisfies Keys<T.ListLeasesRequest>,
  ListLeasesResponse: { leases: true, nextPageToken: true } satisfies Keys<T.ListLeasesResponse>,
  RenewLeaseRequest: { name: true, extendBy: true } satisfies Keys<T.RenewLeaseRequest>,
  ReleaseLeaseRequest: { name: true } satisfies Keys<T.ReleaseLeaseRequest>,
  WatchLeasesRequest: { tenant: true, name: true } satisfies Keys<T.WatchLeasesRequest>,
  LeaseEvent: { type: true, lease: true } satisfies Keys<T.LeaseEvent>,
  ExplainLeaseRequest: { name: true } satisfies Keys<T.ExplainLeaseRequest>,
  Reason: { plugin: true, reason: true, need: true, free: true } satisfies Keys<T.Reason>,
  CandidateVerdict: { candidate: true, code: true, score: true, reasons: true } satisfies Keys<T.CandidateVerdict>,
  ScalingStep: { from: true, to: true, reason: true } satisfies Keys<T.ScalingStep>,
  Decision: { at: true, kind: true, policy: true, outcome: true, verdicts: true, scaling: true } satisfies Keys<T.Decision>,
  ExplainLeaseResponse: { lease: true, decisions: true } satisfies Keys<T.ExplainLeaseResponse>,
  PoolSpec: {
    name: true, image: true, resources: true, minInstances: true, maxInstances: true, quotaPerInstance: true, group: true,
  } satisfies Keys<T.PoolSpec>,
  Pool: { spec: true, instances: true } satisfies Keys<T.Pool>,
  InstanceUse: { serverId: true, quotaBytes: true, committedBytes: true, leases: true } satisfies Keys<T.InstanceUse>,
  PoolStatus: { pool: true, instances: true } satisfies Keys<T.PoolStatus>,
  CreatePoolRequest: { spec: true } satisfies Keys<T.CreatePoolRequest>,
  GetPoolRequest: { name: true } satisfies Keys<T.GetPoolRequest>,
  ListPoolsRequest: {} satisfies Keys<T.ListPoolsRequest>,
  ListPoolsResponse: { pools: true } satisfies Keys<T.ListPoolsResponse>,
  DeletePoolRequest: { name: true } satisfies Keys<T.DeletePoolRequest>,
  AllowlistRequest: { images: true } satisfies Keys<T.AllowlistRequest>,
  ListAllowlistRequest: {} satisfies Keys<T.ListAllowlistRequest>,
  Allowlist: { images: true } satisfies Keys<T.Allowlist>,
  GpuUse: { index: true, model: true, memoryBytes: true, committedBytes: true, measuredBytes: true } satisfies Keys<T.GpuUse>,
  Server: {
    id: true, state: true, group: true, pool: true, node: true, image: true, replicas: true, readyReplicas: true, gpus: true,
    memoryCommittedBytes: true, memoryMeasuredBytes: true, leases: true, endpoints: true, grpcEndpoints: true,
  } satisfies Keys<T.Server>,
  ListServersRequest: {} satisfies Keys<T.ListServersRequest>,
  ListServersResponse: { servers: true } satisfies Keys<T.ListServersResponse>,
  GetServerRequest: { id: true } satisfies Keys<T.GetServerRequest>,
  ModelInfo: { repository: true, name: true, versions: true, platform: true, group: true, sizeBytes: true } satisfies Keys<T.ModelInfo>,
  ListModelsRequest: { repository: true } satisfies Keys<T.ListModelsRequest>,
  ListModelsResponse: { models: true } satisfies Keys<T.ListModelsResponse>,
};

const PHASES: Keys<Record<T.LeasePhaseName, true>> = {
  LEASE_PHASE_UNSPECIFIED: true, LEASE_PHASE_PENDING: true, LEASE_PHASE_PLACING: true, LEASE_PHASE_LOADING: true,
  LEASE_PHASE_READY: true, LEASE_PHASE_EXPIRING: true, LEASE_PHASE_RELEASED: true, LEASE_PHASE_FAILED: true,
};
const EVENT_TYPES: Keys<Record<T.LeaseEventType, true>> = { TYPE_UNSPECIFIED: true, TYPE_ADDED: true, TYPE_MODIFIED: true, TYPE_DELETED: true };

interface Descriptor {
  readonly type: {
    readonly field?: readonly { readonly name: string }[];
    readonly value?: readonly { readonly name: string }[];
    readonly enumType?: readonly { readonly name: string; readonly value: readonly { readonly name: string }[] }[];
  };
  readonly format?: string;
}

const definition = protoLoader.loadSync([...BERTH_PROTO_FILES], BERTH_LOADER_OPTIONS) as unknown as Record<string, Descriptor>;
const messageNames = Object.keys(definition)
  .filter((name) => name.startsWith("berth.v1.") && definition[name].format?.includes("DescriptorProto") === true && !definition[name].format?.includes("Enum"))
  .map((name) => name.slice("berth.v1.".length));

describe("berth-types.ts matches the berth.v1 protos", () => {
  it("has an interface for every message", () => {
    expect(messageNames.length).toBeGreaterThan(40);
    expect([...messageNames].sort()).toEqual(Object.keys(MESSAGES).sort());
  });

  it.each(Object.entries(MESSAGES))("%s has exactly the proto's fields (camelCase)", (name, keys) => {
    const fields = (definition[`berth.v1.${name}`].type.field ?? []).map((f) => f.name);
    expect([...fields].sort()).toEqual(Object.keys(keys).sort());
  });

  it("names every lease phase and lease event type", () => {
    expect((definition["berth.v1.LeasePhase"].type.value ?? []).map((v) => v.name).sort()).toEqual(Object.keys(PHASES).sort());
    const eventType = definition["berth.v1.LeaseEvent"].type.enumType?.find((e) => e.name === "Type");
    expect((eventType?.value ?? []).map((v) => v.name).sort()).toEqual(Object.keys(EVENT_TYPES).sort());
  });
});
