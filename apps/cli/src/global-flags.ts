import type { FlagSpec } from "./command.js";
import { FORMATS } from "./output.js";

/** Flags every verb accepts. A verb's own flag of the same name wins (lease create's --target). */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: "output", short: "o", kind: "string", value: "FORMAT", choices: FORMATS, description: "output format: table (default), wide, json, yaml" },
  { name: "porcelain", kind: "boolean", description: "stable tab-separated fields for scripts: no headers, no colours, no relative times" },
  { name: "context", kind: "string", value: "TARGET", description: "use this stored target (see `berth target list`); same as --target where the verb has no --target of its own" },
  { name: "target", kind: "string", value: "TARGET", description: "use this stored target (BERTH_TARGET)" },
  { name: "address", kind: "string", value: "HOST:PORT", description: "berthd's gRPC address (BERTH_ADDRESS; default 127.0.0.1:50051)" },
  { name: "token", kind: "string", value: "TOKEN", description: "bearer token (BERTH_TOKEN)" },
  { name: "timeout", kind: "string", value: "DURATION", description: "deadline for each call (default 30s)" },
  { name: "help", short: "h", kind: "boolean", description: "show help for the command" },
];
