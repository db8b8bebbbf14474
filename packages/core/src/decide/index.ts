export * from "./types.js";
export * from "./config.js";
export { decide, decideOwned, emptySnapshot, nextWakeUp, ownedCopy } from "./decide.js";
export type { DecidePolicies } from "./policies.js";
export { cachedPolicies } from "./policies.js";
export { registryPolicies } from "./registries.js";
export { NEW_INSTANCE } from "./place.js";
