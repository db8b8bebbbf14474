// Specs and validation: user input (YAML/JSON/gRPC, `4Gi`, `30m`) -> the decoded types in
// ./types.ts, with every problem reported at once. See ./README.md for the fields and defaults.
export type * from "./types.js";
export * from "./defaults.js";
export * from "./quantity.js";
export * from "./duration.js";
export * from "./name.js";
export * from "./model-ref.js";
export * from "./resources.js";
export * from "./server-template.js";
export * from "./lease-spec.js";
export * from "./pool-spec.js";
export * from "./validate.js";
export { formatPath, problemsOf, type SpecProblem, type SpecPath } from "./issues.js";
