// berthd high availability on Kubernetes: one leader among its replicas, elected with a
// coordination.k8s.io/v1 Lease, as client-go's leaderelection does. The decision is a pure
// function; the loop reads the Lease, applies the decision with optimistic concurrency (a
// create that finds the Lease, or a replace with a stale resourceVersion, is a 409: another
// candidate won this round) and publishes whether this candidate leads.
import { Clock, Duration, Effect, Fiber, type Scope, SubscriptionRef } from "effect";
import type { KubeApiError, KubeClient } from "./kube-client.js";

export interface LeaseState {
  readonly holder: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime?: number;
  readonly renewTime?: number;
  readonly transitions: number;
}

/**
 * What a candidate has seen: the Lease as read, and when (by the candidate's own clock) its
 * holder or renewTime last changed. Expiry is measured from that local time, never from the
 * holder's timestamps, so clock skew between machines does not matter.
 */
export interface Observation {
  readonly lease: LeaseState;
  readonly changedAt: number;
}

export type ElectionDecision =
  | { readonly _tag: "Create"; readonly lease: LeaseState }
  | { readonly _tag: "Renew"; readonly lease: LeaseState }
  | { readonly _tag: "TakeOver"; readonly lease: LeaseState; readonly from: string }
  | { readonly _tag: "Follow"; readonly holder: string; readonly expiresAt: number };

export function decideElection(observation: Observation | undefined, identity: string, now: number, leaseDurationSeconds: number): ElectionDecision {
  if (observation === undefined) {
    return { _tag: "Create", lease: { holder: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, transitions: 0 } };
  }
  const { lease, changedAt } = observation;
  if (lease.holder === identity) return { _tag: "Renew", lease: { ...lease, leaseDurationSeconds, renewTime: now } };
  const expiresAt = changedAt + lease.leaseDurationSeconds * 1000;
  if (lease.holder === "" || now >= expiresAt) {
    return { _tag: "TakeOver", from: lease.holder, lease: { holder: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, transitions: lease.transitions + 1 } };
  }
  return { _tag: "Follow", holder: lease.holder, expiresAt };
}

/** The observation after reading `lease` at `now`: the change time moves only when the Lease changed. */
export function observe(previous: Observation | undefined, lease: LeaseState, now: number): Observation {
  const same = previous !== undefined && previous.lease.holder === lease.holder && previous.lease.renewTime === lease.renewTime;
  return { lease, changedAt: same ? previous.changedAt : now };
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
const timeOf = (v: unknown): number | undefined => (typeof v === "string" ? Date.parse(v) : undefined);

function decodeLease(o: Record<string, unknown>): { readonly state: LeaseState; readonly resourceVersion: string } {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const acquireTime = timeOf(spec.acquireTime);
  const renewTime = timeOf(spec.renewTime);
  return {
    state: {
      holder: typeof spec.holderIdentity === "string" ? spec.holderIdentity : "",
      leaseDurationSeconds: typeof spec.leaseDurationSeconds === "number" ? spec.leaseDurationSeconds : 15,
      ...(acquireTime !== undefined ? { acquireTime } : {}),
      ...(renewTime !== undefined ? { renewTime } : {}),
      transitions: typeof spec.leaseTransitions === "number" ? spec.leaseTransitions : 0,
    },
    resourceVersion: String((o.metadata as Record<string, unknown>).resourceVersion ?? ""),
  };
}

export interface LeaderElectionOptions {
  readonly namespace: string;
  /** Name of the coordination.k8s.io Lease (one per berthd installation). */
  readonly name: string;
  /** This candidate (the pod name, usually). */
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  /** How often the leader renews and followers retry (well under the lease duration). */
  readonly retryPeriodMs: number;
  /** Clear the holder when the election's scope closes (default true; false acts out a crash). */
  readonly releaseOnClose?: boolean;
}

export function leaseObject(options: LeaderElectionOptions, lease: LeaseState, resourceVersion?: string) {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { "app.kubernetes.io/name": "berthd", "app.kubernetes.io/component": "leader-election", "app.kubernetes.io/part-of": "berth" },
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    },
    spec: {
      holderIdentity: lease.holder,
      leaseDurationSeconds: lease.leaseDurationSeconds,
      ...(lease.acquireTime !== undefined ? { acquireTime: microTime(lease.acquireTime) } : {}),
      ...(lease.renewTime !== undefined ? { renewTime: microTime(lease.renewTime) } : {}),
      leaseTransitions: lease.transitions,
    },
  };
}

export interface LeaderElection {
  /** True while this candidate leads. */
  readonly leading: SubscriptionRef.SubscriptionRef<boolean>;
  /** Rounds lost to another candidate's concurrent write (409). */
  readonly conflicts: () => number;
  /** The Lease's holder as last read ("" when none; undefined before the first read). */
  readonly holder: () => string | undefined;
}

/**
 * Runs the election in the scope. Closing the scope releases the Lease if this candidate holds
 * it (the holder is cleared, so a follower takes over at once instead of after expiry).
 */
export const runLeaderElection = (client: KubeClient, options: LeaderElectionOptions): Effect.Effect<LeaderElection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const leading = yield* SubscriptionRef.make(false);
    let seen: Observation | undefined;
    let conflicts = 0;
    let holder: string | undefined;
    const read = client.get("coordination.k8s.io/v1", "Lease", options.namespace, options.name);

    const round: Effect.Effect<boolean, KubeApiError> = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis;
      const raw = yield* read;
      const current = raw === undefined ? undefined : decodeLease(raw);
      seen = current === undefined ? undefined : observe(seen, current.state, now);
      holder = current?.state.holder ?? "";
      const decision = decideElection(seen, options.identity, now, options.leaseDurationSeconds);
      switch (decision._tag) {
        case "Follow":
          return false;
        case "Create":
          yield* client.create(leaseObject(options, decision.lease));
          return true;
        case "Renew":
        case "TakeOver":
          yield* client.replace(leaseObject(options, decision.lease, current?.resourceVersion));
          return true;
      }
    });

    const step = round.pipe(
      Effect.catchAll((e) => {
        if (e.status === 409) conflicts++;
        // A failed renewal: stop leading rather than risk two leaders.
        return Effect.succeed(false);
      }),
      Effect.flatMap((lead) => SubscriptionRef.set(leading, lead)),
    );
    const loop = yield* Effect.forkScoped(Effect.forever(Effect.zipRight(step, Effect.sleep(Duration.millis(options.retryPeriodMs)))));

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // Stop renewing first, so no round runs after the release.
        yield* Fiber.interrupt(loop);
        const wasLeading = yield* SubscriptionRef.getAndSet(leading, false);
        if (options.releaseOnClose === false || !wasLeading) return;
        const raw = yield* read;
        if (raw === undefined) return;
        const current = decodeLease(raw);
        if (current.state.holder !== options.identity) return;
        yield* client.replace(leaseObject(options, { ...current.state, holder: "" }, current.resourceVersion));
      }).pipe(Effect.ignore),
    );
    return { leading, conflicts: () => conflicts, holder: () => holder };
  });
