// berthd's leader election as its configuration asks for it (backend.kubernetes.leaderElection):
// the options resolved against the pod's environment (downward API: POD_NAME, POD_NAMESPACE),
// a client from the backend's kubeconfig, and the election running in the caller's scope.
import { hostname } from "node:os";
import { Effect, Either, type Scope } from "effect";
import { backendError, type BackendError } from "../errors.js";
import { KUBERNETES_BACKEND_NAME } from "./backend-name.js";
import { decodeKubernetesBackendConfig, type KubernetesBackendConfig } from "./config.js";
import { makeKubeClient } from "./kube-client.js";
import { type LeaderElection, type LeaderElectionOptions, runLeaderElection } from "./leader-election.js";

/** The election's options, or undefined when the configuration asks for none. */
export function berthdElectionOptions(config: KubernetesBackendConfig, env: Readonly<Record<string, string | undefined>>, pid: number): LeaderElectionOptions | undefined {
  const election = config.leaderElection;
  if (election === undefined) return undefined;
  return {
    name: election.name,
    namespace: election.namespace ?? env.POD_NAMESPACE ?? config.namespace,
    identity: election.identity ?? env.POD_NAME ?? `${hostname()}-${pid}`,
    leaseDurationSeconds: election.leaseDurationSeconds,
    retryPeriodMs: election.retryPeriodMs,
  };
}

/**
 * Runs berthd's election in the scope when `input` (the backend's options as configured) asks
 * for one; undefined otherwise. Fails with InvalidConfig when the options do not decode.
 */
export const runBerthdElection = (input: unknown): Effect.Effect<(LeaderElection & { readonly options: LeaderElectionOptions }) | undefined, BackendError, Scope.Scope> =>
  Effect.gen(function* () {
    const decoded = decodeKubernetesBackendConfig(input);
    if (Either.isLeft(decoded)) return yield* Effect.fail(backendError(KUBERNETES_BACKEND_NAME, { _tag: "InvalidConfig", problems: decoded.left }));
    const config = decoded.right;
    const options = berthdElectionOptions(config, process.env, process.pid);
    if (options === undefined) return undefined;
    const client = yield* Effect.try({
      try: () => makeKubeClient({ ...(config.kubeconfig !== undefined ? { kubeconfig: config.kubeconfig } : {}), fieldManager: config.fieldManager, retryBaseMs: config.retryBaseMs, retryTimes: config.retryTimes }),
      catch: (e) => backendError(KUBERNETES_BACKEND_NAME, { _tag: "InvalidConfig", problems: [`kubeconfig: ${e instanceof Error ? e.message : String(e)}`] }),
    });
    const election = yield* runLeaderElection(client, options);
    return { ...election, options };
  });
