export * from "./power-of-two.js";
export * from "./registry.js";
export * from "./round-robin.js";
export * from "./types.js";
