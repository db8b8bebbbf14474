import type { Bytes } from "../../units.js";
import type { ColocationRules, Where } from "../../spec/types.js";
import type { CandidateVerdict, Reason, VerdictCode } from "../types.js";

// Lease -> existing server binding, in the node level's shape: filters say whether a lease
// may join a server (with a verdict and reasons as data), scorers rank the servers that fit.

/** What a lease needs from a server it joins. */
export interface ServerBindingRequest {
  readonly leaseId: string;
  readonly leaseName: string;
  readonly group: string;
  readonly where: Where;
  /** GPU memory the lease takes per replica: measured when known, declared otherwise. */
  readonly memory: Bytes;
  /** Model keys (`lease/ownership.modelKey`), to prefer servers that have them loaded. */
  readonly models: readonly string[];
  readonly colocation: ColocationRules;
  /** Servers hosting the leases named in `colocation.with` (empty when none is placed yet). */
  readonly withServers: readonly string[];
}

/** One existing server as binding sees it. */
export interface ServerCandidate {
  readonly id: string;
  readonly kind: "bespoke" | "pool";
  readonly pool?: string;
  readonly group: string;
  readonly state: "Starting" | "Ready" | "Down";
  /** GPU memory per replica offered to leases. */
  readonly capacity: Bytes;
  /** GPU memory per replica the bound leases take. */
  readonly used: Bytes;
  /** Pool servers: the most one lease may take on this instance. */
  readonly quotaPerInstance?: Bytes;
  /** Names of the leases bound to it. */
  readonly leaseNames: readonly string[];
  /** Names its leases refuse to share a server with (their `colocation.notWith`). */
  readonly excludes: readonly string[];
  /** Model keys loaded (or being loaded) on it. */
  readonly models: readonly string[];
}

export interface ServerFilterResult {
  readonly code: VerdictCode;
  readonly reason?: Reason;
}

export interface ServerFilter {
  readonly name: string;
  filter(request: ServerBindingRequest, candidate: ServerCandidate): ServerFilterResult;
}

export interface ServerScorer {
  readonly name: string;
  /** Score in [0, 100], higher is better. */
  score(request: ServerBindingRequest, candidate: ServerCandidate): number;
}

export interface ServerBindingDecision {
  readonly policy: string;
  /** Id of the chosen server, absent when none fits. */
  readonly chosen?: string;
  /** One verdict per candidate when explanation was asked for. */
  readonly verdicts?: readonly CandidateVerdict[];
}

export interface ServerBindingPolicy {
  readonly name: string;
  bind(request: ServerBindingRequest, candidates: readonly ServerCandidate[], options?: { readonly explain?: boolean }): ServerBindingDecision;
}

export const fits: ServerFilterResult = { code: "Fits" };
