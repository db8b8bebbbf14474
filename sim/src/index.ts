export * from "./engine/index.js";
export * from "./report/index.js";
