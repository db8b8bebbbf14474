import type { ServerFilter } from "./types.js";
import { fits } from "./types.js";

export const SAME_POOL = "SamePool";
/** Bespoke leases get a server of their own; they never join an existing one. */
export const BESPOKE_NEEDS_OWN_SERVER = "BespokeNeedsOwnServer";
/** Pool leases run only on instances of their pool. */
export const OTHER_POOL = "OtherPool";

export const samePool: ServerFilter["filter"] = (request, candidate) => {
  if (request.where.kind === "bespoke") return { code: "Never", reason: { plugin: SAME_POOL, reason: BESPOKE_NEEDS_OWN_SERVER } };
  return candidate.kind === "pool" && candidate.pool === request.where.pool
    ? fits
    : { code: "Never", reason: { plugin: SAME_POOL, reason: OTHER_POOL } };
};

export const samePoolFilter = (): ServerFilter => ({ name: SAME_POOL, filter: samePool });
