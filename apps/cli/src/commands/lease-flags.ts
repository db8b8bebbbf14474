// The flags of `berth lease create` and the resource flags `pool create` shares: plain data,
// so the command table loads without the spec modules (lease-spec.ts loads when a verb runs).
import type { FlagSpec } from "../command.js";

export const RESOURCE_FLAGS: readonly FlagSpec[] = [
  { name: "gpu-memory", kind: "string", value: "QUANTITY", description: "GPU memory per replica, e.g. 4Gi (default: berthd's choice; pool leases: --quota)" },
  { name: "gpus", kind: "int", value: "N", description: "whole GPUs per replica (default 0: share a GPU)" },
  { name: "gpu-milli", kind: "int", value: "N", description: "thousandths of one GPU's compute when --gpus is 0" },
  { name: "cpu", kind: "string", value: "QUANTITY", description: "CPU per replica, e.g. 500m or 2 (default 1)" },
  { name: "memory", kind: "string", value: "QUANTITY", description: "host memory per replica (default 2Gi)" },
  { name: "gpu-model", kind: "list", value: "NAME", description: "allowed GPU model (repeatable; default any)" },
];

export const LEASE_CREATE_FLAGS: readonly FlagSpec[] = [
  { name: "model", short: "m", kind: "list", value: "name[:version][@repo]", description: "a model to hold (repeatable); without @repo berthd's default repository" },
  { name: "filename", short: "f", kind: "string", value: "FILE", description: "read the lease spec from a YAML or JSON file (flags override its fields)" },
  { name: "pool", kind: "string", value: "POOL", description: "run on this pool's servers (default: a bespoke server)" },
  { name: "quota", kind: "string", value: "QUANTITY", description: "pool leases: GPU memory per pool instance" },
  { name: "image", kind: "string", value: "IMAGE", description: "server image (must be on the allowlist; default: berthd's)" },
  ...RESOURCE_FLAGS,
  { name: "duration", kind: "string", value: "DURATION", description: "minimum duration the lease is held, e.g. 30m (the spec's minDuration; default 30m)" },
  { name: "activity-window", kind: "string", value: "DURATION", description: "renew while the models saw requests within this window (default 5m)" },
  { name: "no-renew", kind: "boolean", description: "do not renew on activity: the lease expires after --duration" },
  { name: "metric", kind: "string", value: "METRIC", description: "autoscale on this metric: queue_time (ms), inflight, rps" },
  { name: "target", kind: "string", value: "VALUE", description: "autoscaling target per replica, in the metric's unit (200ms or 200 for queue_time); use --context to pick a stored target" },
  { name: "min-replicas", kind: "int", value: "N", description: "autoscaling: fewest replicas (default 1)" },
  { name: "max-replicas", kind: "int", value: "N", description: "autoscaling: most replicas" },
  { name: "policy", kind: "string", value: "POLICY", choices: ["hpa", "berth"], description: "autoscaler policy (default hpa)" },
  {
    name: "autoscaling-mode",
    kind: "string",
    value: "MODE",
    choices: ["hpa", "builtin"],
    description: "who scales: hpa (the backend's HorizontalPodAutoscaler, Kubernetes) or builtin (berthd) (default: the backend's; hpa on Kubernetes)",
  },
  { name: "with", kind: "list", value: "LEASE", description: "share a server with this lease (repeatable)" },
  { name: "not-with", kind: "list", value: "LEASE", description: "never share a server with this lease (repeatable)" },
  { name: "label", short: "l", kind: "list", value: "KEY=VALUE", description: "a label (repeatable)" },
  { name: "wait", short: "w", kind: "boolean", description: "follow the lease until it is Ready (exit 0) or Failed (exit 1), showing progress" },
  { name: "wait-timeout", kind: "string", value: "DURATION", description: "with --wait: give up after this long, exit 10 (default 10m; the lease stays)" },
  {
    name: "idempotency-key",
    kind: "string",
    value: "KEY",
    description: "berthd creates one lease per key (per tenant): rerunning with the same key answers with that lease (default: a fresh key per run, so its own retries never make two)",
  },
];
