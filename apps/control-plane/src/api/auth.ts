import { timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { Either } from "effect";
import type { BerthdConfigShape } from "../config/config.js";
import { apiError, permissionDenied, type ApiError } from "./errors.js";

/** Who is calling: a tenant, and whether it may administer (pools, allowlist, every tenant's leases). */
export interface Principal {
  readonly tenant: string;
  readonly admin: boolean;
}

/** With no tokens configured berthd is single-user: everyone is tenant `default` with the admin role. */
export const ANONYMOUS_ADMIN: Principal = { tenant: "default", admin: true };

const sameToken = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Bearer token (`authorization: Bearer <token>`) -> principal; UNAUTHENTICATED when missing or unknown. */
export const authenticate = (config: BerthdConfigShape["auth"], metadata: grpc.Metadata): Either.Either<Principal, ApiError> => {
  if (!config.enabled) return Either.right(ANONYMOUS_ADMIN);
  const header = metadata.get("authorization")[0];
  const match = typeof header === "string" ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  if (match === null) return Either.left(apiError(grpc.status.UNAUTHENTICATED, "missing bearer token (authorization: Bearer <token>)"));
  const token = match[1]!;
  const found = config.tokens.find((t) => sameToken(t.token, token));
  return found === undefined
    ? Either.left(apiError(grpc.status.UNAUTHENTICATED, "unknown bearer token"))
    : Either.right({ tenant: found.tenant, admin: found.admin });
};

export const requireAdmin = (principal: Principal, what: string): Either.Either<void, ApiError> =>
  principal.admin ? Either.right(undefined) : Either.left(permissionDenied(`${what} needs the admin role (tenant ${principal.tenant} does not have it)`));

/** A tenant sees and changes only its own leases; an admin, every tenant's. */
export const canAccessTenant = (principal: Principal, tenant: string): boolean => principal.admin || principal.tenant === tenant;
