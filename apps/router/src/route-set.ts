// What the router needs to know about the fleet: which leases hold which models, in which
// phase, on which replicas, and how a model with no lease may be auto-leased. berthd pushes
// it; standalone, it comes from a JSON or YAML file (--routes). Decoded with Schema at the
// edge, so nothing undecoded travels through the router.
import { LEASE_PHASES, type LeasePhase } from "@berth/core/lease/types";
import { Either, ParseResult, Schema } from "effect";

const HostPort = Schema.String.pipe(
  Schema.pattern(/^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/, { message: () => "expected host:port, such as 127.0.0.1:8000" }),
);

/** One server replica that holds a lease's models, by its KServe v2 endpoints. */
export const ReplicaEndpointSchema = Schema.Struct({
  id: Schema.NonEmptyString,
  /** KServe v2 HTTP/REST endpoint, host:port. */
  http: Schema.optional(HostPort),
  /** KServe v2 gRPC endpoint, host:port. */
  grpc: Schema.optional(HostPort),
});
export type ReplicaEndpoint = typeof ReplicaEndpointSchema.Type;

export const LeaseRouteSchema = Schema.Struct({
  /** The lease's name; activity is reported under it. */
  name: Schema.NonEmptyString,
  /** Only Ready leases take traffic; Expiring ones (warm, models still loaded) only when no Ready lease holds the model. */
  phase: Schema.optionalWith(Schema.Literal(...(LEASE_PHASES as [LeasePhase, ...LeasePhase[]])), { default: () => "Ready" as const }),
  models: Schema.Array(Schema.NonEmptyString),
  replicas: Schema.Array(ReplicaEndpointSchema),
});
export type LeaseRoute = typeof LeaseRouteSchema.Type;

/** Hold the request until a lease appears (bounded queue, timeout), or answer 503 with Retry-After at once. */
export const AutoLeasePolicySchema = Schema.Union(
  Schema.Struct({
    mode: Schema.Literal("hold"),
    queueCap: Schema.Int.pipe(Schema.positive()),
    timeoutMs: Schema.Int.pipe(Schema.positive()),
  }),
  Schema.Struct({
    mode: Schema.Literal("reject"),
    retryAfterS: Schema.Int.pipe(Schema.positive()),
  }),
);
export type AutoLeasePolicy = typeof AutoLeasePolicySchema.Type;

export const RouteSetSchema = Schema.Struct({
  leases: Schema.optionalWith(Schema.Array(LeaseRouteSchema), { default: () => [] }),
  /** Auto-lease policies by model name; "*" applies to any model without its own entry. */
  autoLease: Schema.optionalWith(Schema.Record({ key: Schema.String, value: AutoLeasePolicySchema }), { default: () => ({}) }),
});
export type RouteSet = typeof RouteSetSchema.Type;
export type RouteSetInput = typeof RouteSetSchema.Encoded;

export const EMPTY_ROUTE_SET: RouteSet = { leases: [], autoLease: {} };

export class RouteSetError extends Error {
  override readonly name = "RouteSetError";
}

const decode = Schema.decodeUnknownEither(RouteSetSchema, { errors: "all", onExcessProperty: "error" });

/** Decodes and checks a route set; throws RouteSetError with every problem, by path. */
export function decodeRouteSet(value: unknown): RouteSet {
  const result = decode(value);
  if (Either.isLeft(result)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(result.left)
      .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`);
    throw new RouteSetError(`invalid route set:\n  ${issues.join("\n  ")}`);
  }
  const set = result.right;
  // A replica id names one server replica; two endpoints under one id would make outstanding
  // counts and down marks ambiguous.
  const endpoints = new Map<string, string>();
  for (const lease of set.leases) {
    for (const r of lease.replicas) {
      const key = `${r.http ?? ""} ${r.grpc ?? ""}`;
      const seen = endpoints.get(r.id);
      if (seen !== undefined && seen !== key) throw new RouteSetError(`invalid route set: replica '${r.id}' has different endpoints in two leases`);
      endpoints.set(r.id, key);
      if (r.http === undefined && r.grpc === undefined) throw new RouteSetError(`invalid route set: replica '${r.id}' of lease '${lease.name}' has neither an http nor a grpc endpoint`);
    }
  }
  const names = new Set<string>();
  for (const lease of set.leases) {
    if (names.has(lease.name)) throw new RouteSetError(`invalid route set: lease '${lease.name}' appears twice`);
    names.add(lease.name);
  }
  return set;
}
