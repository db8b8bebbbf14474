import type { ServerFilter } from "./types.js";
import { fits } from "./types.js";

export const SAME_GROUP = "SameGroup";
/** Frameworks that never give memory back must not share a server with other groups. */
export const GROUP_MISMATCH = "GroupMismatch";

export const sameGroup: ServerFilter["filter"] = (request, candidate) =>
  candidate.group === request.group ? fits : { code: "Never", reason: { plugin: SAME_GROUP, reason: GROUP_MISMATCH } };

export const sameGroupFilter = (): ServerFilter => ({ name: SAME_GROUP, filter: sameGroup });
