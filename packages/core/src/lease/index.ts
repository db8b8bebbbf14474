export * from "./types.js";
export * from "./phase.js";
export * from "./clock.js";
export * from "./ownership.js";
