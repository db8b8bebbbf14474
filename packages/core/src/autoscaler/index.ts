export * from "./berth.js";
export * from "./hpa-behavior.js";
export * from "./hpa-replica-calculator.js";
export * from "./hpa.js";
export * from "./queueing.js";
export * from "./registry.js";
export * from "./types.js";
