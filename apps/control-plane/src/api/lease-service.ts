import { createHash, randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { Clock, Duration, Effect, Either, Exit, Option, Queue, type Runtime } from "effect";
import {
  imageAllowed,
  isLive,
  parseDuration,
  validateLeaseSpec,
  type Event,
  type LeasePhase,
  type LeaseRecord,
  type LeaseSpec,
  type LeaseSpecInput,
  type ModelFacts,
  type Snapshot,
} from "@berth/core";
import { durationToMs, leasePhaseWord, type LeaseServiceHandlers } from "@berth/api/berth";
import type * as T from "@berth/api/berth";
import type { BerthdConfigShape } from "../config/config.js";
import type { EngineShape, SubmitOptions, Submitted } from "../engine/engine.js";
import type { SidecarHubShape } from "../executor/sidecar-hub.js";
import type { MetricsShape } from "../metrics/metrics.js";
import type { RepositoriesShape } from "../repositories/repositories.js";
import type { AllowlistShape } from "./allowlist.js";
import { canAccessTenant, type Principal } from "./auth.js";
import { estimateGpuMemory, modelRefsOf, needsGpuMemoryEstimate } from "./gpu-memory-estimate.js";
import {
  apiError,
  fromImmediateFailure,
  fromRejection,
  fromRepositoryError,
  fromSpecErrors,
  fromStoreError,
  invalidArgument,
  notFound,
  permissionDenied,
  type ApiError,
} from "./errors.js";
import { labelSelector, leaseSpecInput } from "./inputs.js";
import { decodePageToken, encodePageToken, isCursor, leasePage, pageLimit } from "./list-page.js";
import { rpcKit, type CallContext } from "./rpc.js";
import { decisionView, leaseView } from "./views.js";

export interface LeaseServiceDeps {
  readonly config: BerthdConfigShape;
  readonly engine: EngineShape;
  readonly hub: SidecarHubShape;
  readonly repositories: RepositoriesShape;
  readonly allowlist: AllowlistShape;
  readonly metrics: MetricsShape;
}

const IDEMPOTENCY_HEADERS = ["idempotency-key", "x-request-id"];

const idempotencyKey = (metadata: grpc.Metadata): string | undefined => {
  for (const header of IDEMPOTENCY_HEADERS) {
    const value = metadata.get(header)[0];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
};

/** A retried Create (same tenant, same key) names the same lease id, so it finds the lease it made. */
const leaseIdFor = (tenant: string, key: string | undefined): string =>
  key === undefined ? `l-${randomUUID().replace(/-/g, "").slice(0, 12)}` : `l-${createHash("sha256").update(`${tenant}\n${key}`).digest("hex").slice(0, 12)}`;

/** A lease by name (the live one, else the newest ended one) or by id. */
export const findLease = (snapshot: Snapshot, nameOrId: string): LeaseRecord | undefined => {
  const live = snapshot.names[nameOrId];
  if (live !== undefined) return snapshot.leases[live];
  const byId = snapshot.leases[nameOrId];
  if (byId !== undefined) return byId;
  let newest: LeaseRecord | undefined;
  for (const lease of Object.values(snapshot.leases)) if (lease.spec.name === nameOrId && (newest === undefined || lease.createdAt > newest.createdAt)) newest = lease;
  return newest;
};

const LIVE_FOR_QUOTA: readonly LeasePhase[] = ["Pending", "Placing", "Loading", "Ready"];

/** GPU memory a tenant's live leases hold (per replica times replicas). */
export const tenantGpuMemory = (snapshot: Snapshot, tenant: string): number => {
  let total = 0;
  for (const lease of Object.values(snapshot.leases)) {
    if (lease.spec.tenant !== tenant || !LIVE_FOR_QUOTA.includes(lease.phase)) continue;
    const server = lease.placement === undefined ? undefined : snapshot.servers[lease.placement.serverId];
    total += lease.memory * (server?.kind === "bespoke" ? Math.max(1, server.replicas.length) : 1);
  }
  return total;
};

const requestedMemory = (spec: LeaseSpec): number =>
  (spec.where.kind === "pool" ? Math.max(spec.resources.gpuMemory, 0) : spec.resources.gpuMemory) * (spec.autoscaling?.minReplicas ?? 1);

const TERMINAL_WAIT: readonly LeasePhase[] = ["Ready", "Failed", "Released"];

const progressMessage = (lease: LeaseRecord, snapshot: Snapshot): string => {
  const server = lease.placement?.serverId;
  switch (lease.phase) {
    case "Pending":
      return "accepted";
    case "Placing":
      return server === undefined ? "placing" : `placed on server ${server}; starting it`;
    case "Loading":
      return `loading ${lease.spec.models.length} model${lease.spec.models.length === 1 ? "" : "s"} on server ${server}`;
    case "Ready":
      return `ready on server ${server} (${snapshot.servers[server ?? ""]?.readyReplicas ?? 0} ready replicas)`;
    case "Failed":
      return `failed: ${lease.failure?.code ?? ""}: ${lease.failure?.message ?? ""}`;
    default:
      return lease.phase.toLowerCase();
  }
};

export const makeLeaseHandlers = (deps: LeaseServiceDeps, runtime: Runtime.Runtime<never>): LeaseServiceHandlers => {
  const { config, engine, hub, repositories, allowlist, metrics } = deps;
  const kit = rpcKit(runtime, config.auth);
  const view = (snapshot: Snapshot, lease: LeaseRecord) => leaseView(snapshot, lease, hub.endpoints, hub.grpcEndpoints);
  const count = (operation: string) => (exit: Exit.Exit<unknown, ApiError>) =>
    metrics.leaseOperations.inc({
      operation,
      result: Exit.isSuccess(exit) ? "ok" : Option.match(Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.fromNullable(c._tag === "Fail" ? c.error : undefined))), { onNone: () => "INTERNAL", onSome: (e) => grpc.status[e.code] }),
    });

  const submit = (event: Event, options: SubmitOptions<ApiError> = {}): Effect.Effect<Submitted, ApiError> =>
    engine.submit(event, options).pipe(
      Effect.catchTag("StoreError", (error) => Effect.fail(fromStoreError(error))),
      Effect.flatMap((submitted) => {
        const rejection = submitted.committed || submitted.duplicate ? undefined : submitted.result.rejections[0];
        return rejection !== undefined ? Effect.fail(fromRejection(rejection)) : Effect.succeed(submitted);
      }),
    );

  /** The lease a caller names, if it may see it: NOT_FOUND, PERMISSION_DENIED otherwise. */
  const accessible = (name: string, principal: Principal): Effect.Effect<LeaseRecord, ApiError> =>
    Effect.suspend(() => {
      if (name === "") return Effect.fail(invalidArgument("name is required", [{ field: "name", description: "required" }]));
      const lease = findLease(engine.snapshot(), name);
      if (lease === undefined) return Effect.fail(notFound(`lease "${name}" not found`));
      if (!canAccessTenant(principal, lease.spec.tenant)) return Effect.fail(permissionDenied(`lease "${name}" belongs to another tenant`));
      return Effect.succeed(lease);
    });

  const validate = (request: T.CreateLeaseRequest, principal: Principal) =>
    Effect.gen(function* () {
      const given = leaseSpecInput(request.spec, principal.tenant, config.leases.defaultMinDuration);
      const input = yield* withGpuMemoryEstimate(given);
      const decoded = validateLeaseSpec(input, { defaultRepository: config.defaultRepository });
      if (Either.isLeft(decoded)) return yield* Effect.fail(fromSpecErrors(decoded.left));
      const spec = decoded.right;
      if (config.leases.maxMinDuration !== undefined && spec.minDuration > config.leases.maxMinDuration)
        return yield* Effect.fail(invalidArgument("the lease spec has 1 problem", [{ field: "minDuration", description: `at most ${config.leases.maxMinDuration} ms on this berthd` }]));
      const images = yield* allowlist.list;
      if (!imageAllowed(spec.image, images))
        return yield* Effect.fail(apiError(grpc.status.FAILED_PRECONDITION, `image "${spec.image}" is not on the allowlist (${images.join(", ")}): leave image out for the default, or ask an operator to allow it`));
      if (spec.where.kind === "pool" && engine.snapshot().pools[spec.where.pool] === undefined) return yield* Effect.fail(notFound(`pool "${spec.where.pool}" not found`));
      const facts: ModelFacts[] = [];
      for (const ref of spec.models) {
        const fact = yield* repositories.facts(ref).pipe(Effect.mapError(fromRepositoryError));
        facts.push(fact);
      }
      return { spec, facts };
    });

  /** A bespoke lease without gpuMemory gets a first guess from its models' sizes (measured memory replaces it after load). */
  const withGpuMemoryEstimate = (input: LeaseSpecInput) =>
    Effect.gen(function* () {
      if (!needsGpuMemoryEstimate(input)) return input;
      const refs = modelRefsOf(input, config.defaultRepository);
      if (refs === undefined) return input;
      const facts: ModelFacts[] = [];
      for (const ref of refs) facts.push(yield* repositories.facts(ref).pipe(Effect.mapError(fromRepositoryError)));
      const resources = { ...(input.resources as object | undefined), gpuMemory: estimateGpuMemory(facts) };
      return { ...input, resources } as LeaseSpecInput;
    });

  const quotaGuard = (spec: LeaseSpec) => (snapshot: Snapshot) => {
    const quota = config.auth.tenants[spec.tenant]?.gpuMemoryQuota;
    if (quota === undefined) return Effect.void;
    const used = tenantGpuMemory(snapshot, spec.tenant);
    const need = requestedMemory(spec);
    return used + need <= quota
      ? Effect.void
      : Effect.fail(apiError(grpc.status.RESOURCE_EXHAUSTED, `tenant "${spec.tenant}" GPU memory quota exceeded: ${used} of ${quota} bytes in use, the lease needs ${need}`));
  };

  const create = (request: T.CreateLeaseRequest, context: CallContext, call: grpc.ServerWritableStream<T.CreateLeaseRequest, unknown>) =>
    Effect.scoped(
      Effect.gen(function* () {
        const { spec, facts } = yield* validate(request, context.principal);
        const key = idempotencyKey(context.metadata);
        const id = leaseIdFor(context.principal.tenant, key);
        // A waiting call subscribes before submitting, so no change of the new lease can slip
        // between; one that does not wait subscribes to nothing (every commit would be offered to it).
        const commits = request.wait ? yield* engine.subscribe : undefined;
        const existing = engine.snapshot().leases[id];
        if (existing === undefined) {
          const at = yield* Clock.currentTimeMillis;
          yield* submit(
            { _tag: "LeaseRequested", at, id, spec, models: facts, holder: context.principal.tenant },
            { ...(key !== undefined ? { idempotencyKey: `${context.principal.tenant}/create/${key}` } : {}), guard: quotaGuard(spec) },
          );
        }
        let snapshot = engine.snapshot();
        let lease = snapshot.leases[id];
        if (lease === undefined) return yield* Effect.fail(apiError(grpc.status.INTERNAL, "the lease was accepted but is not in the state"));
        if (lease.phase === "Failed" && lease.createdAt === lease.phaseSince) {
          const immediate = lease.failure === undefined ? undefined : fromImmediateFailure(lease.failure);
          if (immediate !== undefined) return yield* Effect.fail(immediate);
        }
        const done = commits === undefined || TERMINAL_WAIT.includes(lease.phase);
        // One message per step: the same phase on the same server is not news.
        const stepOf = (l: LeaseRecord) => `${l.phase}/${l.placement?.serverId ?? ""}/${l.placement?.assigned ?? false}`;
        let lastStep = stepOf(lease);
        call.write({ lease: view(snapshot, lease), message: progressMessage(lease, snapshot), done });
        if (done || commits === undefined) return;
        const limit = Math.min(durationToMs(request.waitTimeout) ?? config.leases.maxWait, config.leases.maxWait);
        const waited = yield* Effect.gen(function* () {
          for (;;) {
            const commit = yield* Queue.take(commits);
            if (!commit.result.changes.some((c) => c.leaseId === id)) continue;
            snapshot = commit.result.snapshot;
            lease = snapshot.leases[id];
            if (lease === undefined) return;
            const finished = TERMINAL_WAIT.includes(lease.phase);
            if (!finished && stepOf(lease) === lastStep) continue;
            lastStep = stepOf(lease);
            call.write({ lease: view(snapshot, lease), message: progressMessage(lease, snapshot), done: finished });
            if (finished) return;
          }
        }).pipe(Effect.timeoutOption(Duration.millis(limit)));
        if (Option.isNone(waited)) {
          const now = engine.snapshot();
          const current = now.leases[id];
          if (current !== undefined) call.write({ lease: view(now, current), message: `stopped waiting after ${limit} ms; the lease stays ${current.phase}`, done: true });
        }
      }),
    );

  const list = (request: T.ListLeasesRequest, context: CallContext) =>
    Effect.gen(function* () {
      const { principal } = context;
      if (request.tenant !== "" && !canAccessTenant(principal, request.tenant)) return yield* Effect.fail(permissionDenied(`tenant ${principal.tenant} may not list tenant ${request.tenant}'s leases`));
      const tenant = request.tenant !== "" ? request.tenant : principal.admin ? undefined : principal.tenant;
      const phases = request.phases.map(leasePhaseWord).filter((p): p is LeasePhase => p !== undefined);
      const selector = labelSelector(request.labelSelector);
      if (typeof selector === "string") return yield* Effect.fail(invalidArgument(selector, [{ field: "labelSelector", description: selector }]));
      const limit = pageLimit(request.pageSize);
      if (typeof limit === "object") return yield* Effect.fail(invalidArgument(`${limit.field}: ${limit.description}`, [limit]));
      const filters = { tenant, phases, labelSelector: request.labelSelector };
      const after = request.pageToken === "" ? undefined : decodePageToken(request.pageToken, filters);
      if (after !== undefined && !isCursor(after)) return yield* Effect.fail(invalidArgument(`${after.field}: ${after.description}`, [after]));
      const snapshot = engine.snapshot();
      const matching = Object.values(snapshot.leases).filter(
        (l) => (tenant === undefined || l.spec.tenant === tenant) && (phases.length === 0 || phases.includes(l.phase)) && selector(l.spec.labels),
      );
      // Views (the bulk of a response) only for the page returned.
      const page = leasePage(matching, after, limit);
      return { leases: page.leases.map((l) => view(snapshot, l)), nextPageToken: page.next === undefined ? "" : encodePageToken(page.next, filters) };
    });

  const renew = (request: T.RenewLeaseRequest, context: CallContext) =>
    Effect.gen(function* () {
      const lease = yield* accessible(request.name, context.principal);
      let duration: number | undefined;
      if (request.extendBy !== "") {
        const parsed = parseDuration(request.extendBy);
        if (Either.isLeft(parsed)) return yield* Effect.fail(invalidArgument(parsed.left, [{ field: "extendBy", description: parsed.left }]));
        duration = parsed.right;
      } else duration = lease.spec.renewal.activityWindow;
      if (!isLive(lease.phase) && lease.phase !== "Expiring") return yield* Effect.fail(apiError(grpc.status.FAILED_PRECONDITION, `lease "${lease.spec.name}" is ${lease.phase}`));
      const at = yield* Clock.currentTimeMillis;
      const submitted = yield* submit({ _tag: "LeaseRenewed", at, name: lease.spec.name, by: context.principal.tenant, duration });
      const after = submitted.snapshot.leases[lease.id] ?? lease;
      return view(submitted.snapshot, after);
    });

  const release = (request: T.ReleaseLeaseRequest, context: CallContext) =>
    Effect.gen(function* () {
      const lease = yield* accessible(request.name, context.principal);
      if (lease.phase === "Released" || lease.phase === "Failed") return view(engine.snapshot(), lease);
      const at = yield* Clock.currentTimeMillis;
      const submitted = yield* submit({ _tag: "LeaseReleased", at, name: lease.spec.name, by: context.principal.tenant });
      return view(submitted.snapshot, submitted.snapshot.leases[lease.id] ?? lease);
    });

  const watch = (request: T.WatchLeasesRequest, context: CallContext, call: grpc.ServerWritableStream<T.WatchLeasesRequest, unknown>) =>
    Effect.scoped(
      Effect.gen(function* () {
        const { principal } = context;
        if (request.tenant !== "" && !canAccessTenant(principal, request.tenant)) return yield* Effect.fail(permissionDenied(`tenant ${principal.tenant} may not watch tenant ${request.tenant}'s leases`));
        const tenant = request.tenant !== "" ? request.tenant : principal.admin ? undefined : principal.tenant;
        const matches = (l: LeaseRecord) => (tenant === undefined || l.spec.tenant === tenant) && (request.name === "" || l.spec.name === request.name || l.id === request.name);
        const commits = yield* engine.subscribe;
        const first = engine.snapshot();
        for (const lease of Object.values(first.leases)) if (matches(lease)) call.write({ type: "TYPE_ADDED", lease: view(first, lease) });
        for (;;) {
          const commit = yield* Queue.take(commits);
          const after = commit.result.snapshot;
          const seen = new Set<string>();
          for (const change of commit.result.changes) {
            if (seen.has(change.leaseId)) continue;
            seen.add(change.leaseId);
            const lease = after.leases[change.leaseId];
            if (lease !== undefined && matches(lease)) call.write({ type: change.from === undefined ? "TYPE_ADDED" : "TYPE_MODIFIED", lease: view(after, lease) });
          }
          if (commit.event._tag === "Tick") {
            for (const lease of Object.values(commit.before.leases)) {
              if (after.leases[lease.id] === undefined && matches(lease)) call.write({ type: "TYPE_DELETED", lease: view(commit.before, lease) });
            }
          }
        }
      }),
    );

  const explain = (request: T.ExplainLeaseRequest, context: CallContext) =>
    Effect.gen(function* () {
      const lease = yield* accessible(request.name, context.principal);
      const snapshot = engine.snapshot();
      const decisions = snapshot.decisions.filter((d) => d.leaseId === lease.id || d.beneficiary === lease.id || (d.victims ?? []).includes(lease.id));
      return { lease: view(snapshot, lease), decisions: decisions.map(decisionView) };
    });

  const get = (request: T.GetLeaseRequest, context: CallContext) =>
    Effect.map(accessible(request.name, context.principal), (lease) => view(engine.snapshot(), lease));

  return {
    Create: kit.serverStream("Create", create, count("create")),
    Get: kit.unary("Get", get, count("get")),
    List: kit.unary("List", list, count("list")),
    Renew: kit.unary("Renew", renew, count("renew")),
    Release: kit.unary("Release", release, count("release")),
    Watch: kit.serverStream("Watch", watch),
    Explain: kit.unary("Explain", explain, count("explain")),
  };
};
