import type { ServerFilter } from "./types.js";
import { fits } from "./types.js";

export const COLOCATION = "Colocation";
/** A lease this one must not share a server with is on the server. */
export const NOT_WITH_PRESENT = "NotWithPresent";
/** A lease on the server refuses to share it with this one. */
export const EXCLUDED_BY_RESIDENT = "ExcludedByResident";
/** A lease this one must share a server with is on another server. */
export const WITH_ELSEWHERE = "WithElsewhere";

export const colocation: ServerFilter["filter"] = (request, candidate) => {
  if (request.colocation.notWith.some((name) => candidate.leaseNames.includes(name)))
    return { code: "NotNow", reason: { plugin: COLOCATION, reason: NOT_WITH_PRESENT } };
  if (candidate.excludes.includes(request.leaseName)) return { code: "NotNow", reason: { plugin: COLOCATION, reason: EXCLUDED_BY_RESIDENT } };
  if (request.withServers.some((id) => id !== candidate.id)) return { code: "NotNow", reason: { plugin: COLOCATION, reason: WITH_ELSEWHERE } };
  return fits;
};

export const colocationFilter = (): ServerFilter => ({ name: COLOCATION, filter: colocation });
