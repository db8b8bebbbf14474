import type { Rng } from "../random/rng.js";

/** A replica as the router sees it. */
export interface ReplicaLoad {
  readonly id: string;
  /** Requests sent and not yet answered. */
  readonly outstanding: number;
}

/** Picks the replica for the next request. `cursor` carries round robin's position (plain data). */
export interface ReplicaPicker {
  readonly name: string;
  pick(replicas: readonly ReplicaLoad[], rng: Rng, cursor: number): { readonly index: number; readonly cursor: number };
}
