import type { ServerFilter } from "./types.js";
import { fits } from "./types.js";

export const SERVER_STATE = "ServerState";
/** The server is down (restarting); it may take the lease once it is back. */
export const SERVER_DOWN = "ServerDown";

export const serverState: ServerFilter["filter"] = (_request, candidate) =>
  candidate.state === "Down" ? { code: "NotNow", reason: { plugin: SERVER_STATE, reason: SERVER_DOWN } } : fits;

export const serverStateFilter = (): ServerFilter => ({ name: SERVER_STATE, filter: serverState });
