export { runKeepaliveCommand, parseKeepaliveArgs, KEEPALIVE_USAGE } from "./command.js";
export { runKeepaliveExperiment, runOne, type KeepaliveExperiment, type KeepaliveExperimentResult, type KeepaliveSummary } from "./experiment.js";
export { simulateKeepalive, type KeepaliveRunConfig, type KeepaliveRunResult } from "./simulate.js";
export { simPolicies, simPolicy, defaultPolicyNames, type SimPolicy } from "./policies.js";
export { parseRequestTrace, parseLoadLatencies, loadRequestTrace, loadLoadLatencies, type GenaiTrace, type GenaiRequest } from "./trace.js";
