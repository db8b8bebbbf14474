import { createHash } from "node:crypto";
import type { LeaseRecord } from "@berth/core";
import type { FieldViolation } from "@berth/api/berth";

// Kubernetes-style paging of LeaseService.List. The token names the last lease a page returned
// by its sort key (not an offset), so leases created or released between pages move nothing:
// each lease present throughout the paging appears exactly once. It also carries a digest of
// the filters, so a token cannot continue a listing with other filters. Opaque to clients:
// base64url of JSON.

/** The most leases one page holds, whatever page_size asks for. */
export const MAX_PAGE_SIZE = 1000;

/** Where a page ends: the sort key of its last lease. */
export interface LeaseCursor {
  readonly name: string;
  readonly createdAt: number;
  readonly id: string;
}

const compareKeys = (aName: string, aCreated: number, aId: string, bName: string, bCreated: number, bId: string): number =>
  aName.localeCompare(bName) || aCreated - bCreated || (aId < bId ? -1 : aId > bId ? 1 : 0);

/** List's order: by name, then creation time (a name's ended leases before its live one), then id. */
export const compareLeases = (a: LeaseRecord, b: LeaseRecord): number => compareKeys(a.spec.name, a.createdAt, a.id, b.spec.name, b.createdAt, b.id);

const isAfter = (lease: LeaseRecord, cursor: LeaseCursor): boolean => compareKeys(lease.spec.name, lease.createdAt, lease.id, cursor.name, cursor.createdAt, cursor.id) > 0;

const leaseKey = (lease: LeaseRecord): LeaseCursor => ({ name: lease.spec.name, createdAt: lease.createdAt, id: lease.id });

/** The filters a listing was made with, as the token remembers them. */
export interface ListFilters {
  /** The effective tenant (undefined: an admin listing every tenant). */
  readonly tenant: string | undefined;
  readonly phases: readonly string[];
  readonly labelSelector: string;
}

const filtersDigest = (filters: ListFilters): string =>
  createHash("sha256")
    .update(JSON.stringify([filters.tenant ?? null, [...new Set(filters.phases)].sort(), filters.labelSelector]))
    .digest("base64url")
    .slice(0, 16);

const TOKEN_VERSION = 1;

export const encodePageToken = (cursor: LeaseCursor, filters: ListFilters): string =>
  Buffer.from(JSON.stringify({ v: TOKEN_VERSION, n: cursor.name, c: cursor.createdAt, i: cursor.id, f: filtersDigest(filters) }), "utf8").toString("base64url");

/** The cursor a token names, or the field violation that says why it cannot be used with these filters. */
export const decodePageToken = (token: string, filters: ListFilters): LeaseCursor | FieldViolation => {
  const malformed: FieldViolation = { field: "pageToken", description: "not a page token berthd issued: pass a previous response's nextPageToken unchanged" };
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return malformed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return malformed;
  }
  if (typeof parsed !== "object" || parsed === null) return malformed;
  const { v, n, c, i, f } = parsed as Record<string, unknown>;
  if (v !== TOKEN_VERSION || typeof n !== "string" || typeof c !== "number" || !Number.isFinite(c) || typeof i !== "string" || typeof f !== "string") return malformed;
  if (f !== filtersDigest(filters))
    return { field: "pageToken", description: "the token belongs to a listing with other filters: send the same tenant, phases and labelSelector as the call that returned it" };
  return { name: n, createdAt: c, id: i };
};

export const isCursor = (decoded: LeaseCursor | FieldViolation): decoded is LeaseCursor => !("field" in decoded);

/** The page size a request asks for, capped (undefined: no limit), or the violation of a negative one. */
export const pageLimit = (pageSize: number): number | undefined | FieldViolation => {
  if (!Number.isInteger(pageSize) || pageSize < 0) return { field: "pageSize", description: `must be 0 (no limit) or positive, got ${pageSize}` };
  return pageSize === 0 ? undefined : Math.min(pageSize, MAX_PAGE_SIZE);
};

/**
 * One page of the matching leases in List's order: those after `after`, at most `limit`, and the
 * cursor of the next page (undefined on the last). Works on records only, so the caller builds
 * views for the returned page alone.
 */
export const leasePage = (
  matching: readonly LeaseRecord[],
  after: LeaseCursor | undefined,
  limit: number | undefined,
): { readonly leases: readonly LeaseRecord[]; readonly next: LeaseCursor | undefined } => {
  const rest = after === undefined ? [...matching] : matching.filter((l) => isAfter(l, after));
  rest.sort(compareLeases);
  if (limit === undefined || rest.length <= limit) return { leases: rest, next: undefined };
  const leases = rest.slice(0, limit);
  return { leases, next: leaseKey(leases[leases.length - 1] as LeaseRecord) };
};
