import type { ServerFilter } from "./types.js";
import { fits } from "./types.js";

export const POOL_QUOTA = "PoolQuota";
/** The lease needs more than its own quota or the pool's quota per instance allows. */
export const QUOTA_EXCEEDED = "QuotaExceeded";

export const poolQuota: ServerFilter["filter"] = (request, candidate) => {
  if (request.where.kind !== "pool") return fits;
  const limit = Math.min(request.where.quota, candidate.quotaPerInstance ?? Number.POSITIVE_INFINITY);
  return request.memory <= limit
    ? fits
    : { code: "Never", reason: { plugin: POOL_QUOTA, reason: QUOTA_EXCEEDED, need: request.memory, free: limit } };
};

export const poolQuotaFilter = (): ServerFilter => ({ name: POOL_QUOTA, filter: poolQuota });
