// Fixed keep-alive: warm for a constant time after each use (AWS Lambda keeps about 10
// minutes, Azure Functions 20), and the "until memory is needed" limit of it.
import type { DurationMs } from "../units.js";
import type { KeepAlivePolicy } from "./keepalive.js";

export const FIXED = "fixed";
export const UNTIL_NEEDED = "until-needed";

export const fixed = (ttl: DurationMs, name = `${FIXED}-${ttl / 60_000}m`): KeepAlivePolicy => {
  if (!(ttl >= 0)) throw new RangeError(`keep-alive must be >= 0, got ${ttl}`);
  return { name, windows: () => ({ prewarm: 0, keepAlive: ttl, mode: "Fixed" }) };
};

/** Never expires on its own: warm until eviction picks it (an LRU cache's behaviour). */
export const untilNeeded = (): KeepAlivePolicy => ({
  name: UNTIL_NEEDED,
  windows: () => ({ prewarm: 0, keepAlive: Infinity, mode: "UntilNeeded" }),
});
