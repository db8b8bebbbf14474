import { Data, Either } from "effect";
import type { LeasePhase, LeaseRecord } from "./types.js";

/**
 * The allowed edges of the lease lifecycle. Pending is the moment between a request and
 * the first placement attempt; Placing waits for a server (new or starting); Loading waits
 * for the sidecar; Expiring is past expiry, models possibly kept warm; Released and Failed
 * are terminal.
 */
export const TRANSITIONS: Readonly<Record<LeasePhase, readonly LeasePhase[]>> = {
  Pending: ["Placing", "Failed", "Released"],
  // Placing -> Placing is a re-placement (its server went away before it came up).
  Placing: ["Placing", "Loading", "Expiring", "Failed", "Released"],
  // Loading -> Placing: the server is gone; Loading -> Loading: it restarted and loads again.
  Loading: ["Loading", "Ready", "Placing", "Expiring", "Failed", "Released"],
  Ready: ["Loading", "Placing", "Expiring", "Failed", "Released"],
  // Expiring -> Ready: activity or a renewal while its models were still warm.
  Expiring: ["Ready", "Released", "Failed"],
  Released: [],
  Failed: [],
};

export class IllegalTransition extends Data.TaggedError("IllegalTransition")<{
  readonly leaseId: string;
  readonly from: LeasePhase;
  readonly to: LeasePhase;
}> {}

export const canTransition = (from: LeasePhase, to: LeasePhase): boolean => TRANSITIONS[from].includes(to);

export const isTerminal = (phase: LeasePhase): boolean => phase === "Released" || phase === "Failed";

/** Live: holds (or is getting) a place and its models. Expiring leases are not live: they are only warm. */
export const isLive = (phase: LeasePhase): boolean =>
  phase === "Pending" || phase === "Placing" || phase === "Loading" || phase === "Ready";

/** The lease in phase `to` (phaseSince = at), or IllegalTransition when the table has no such edge. */
export const transition = (lease: LeaseRecord, to: LeasePhase, at: number = lease.phaseSince): Either.Either<LeaseRecord, IllegalTransition> =>
  canTransition(lease.phase, to)
    ? Either.right({ ...lease, phase: to, phaseSince: at })
    : Either.left(new IllegalTransition({ leaseId: lease.id, from: lease.phase, to }));
