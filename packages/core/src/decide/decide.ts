import { defaultDecideConfig, type DecideConfig } from "./config.js";
import { Draft } from "./draft.js";
import { carryLeaseIndex, leaseIndexOf } from "./lease-index.js";
import { onActivity, onMetricObserved } from "./on-activity.js";
import { onModelsCatalogued, onNodeObserved } from "./on-cluster.js";
import { onLeaseReleased } from "./on-lease-released.js";
import { onLeaseRenewed } from "./on-lease-renewed.js";
import { onLeaseRequested } from "./on-lease-requested.js";
import { onModelsFailed, onModelsLoaded } from "./on-models.js";
import { onPoolDefined, onPoolDeleted } from "./on-pool.js";
import { onServerObserved } from "./on-server-observed.js";
import { onTick } from "./on-tick.js";
import type { DecidePolicies } from "./policies.js";
import { registryPolicies } from "./registries.js";
import type { DecideResult, Event, Snapshot } from "./types.js";

/** An empty world at `now`, with the seed for every seeded choice decide makes. */
export const emptySnapshot = (options: { readonly now?: number; readonly seed?: number } = {}): Snapshot => ({
  now: options.now ?? 0,
  leases: {},
  names: {},
  servers: {},
  nodes: {},
  pools: {},
  catalog: { models: {}, measured: {} },
  decisions: [],
  nextId: 1,
  rngState: (options.seed ?? 1) >>> 0,
  lastAutoscaleAt: options.now ?? 0,
});

const handle = (draft: Draft, event: Event): void => {
  switch (event._tag) {
    case "LeaseRequested":
      return onLeaseRequested(draft, event);
    case "LeaseRenewed":
      return onLeaseRenewed(draft, event);
    case "LeaseReleased":
      return onLeaseReleased(draft, event);
    case "ServerObserved":
      return onServerObserved(draft, event);
    case "NodeObserved":
      return onNodeObserved(draft, event);
    case "ModelsLoaded":
      return onModelsLoaded(draft, event);
    case "ModelsFailed":
      return onModelsFailed(draft, event);
    case "Activity":
      return onActivity(draft, event);
    case "MetricObserved":
      return onMetricObserved(draft, event);
    case "PoolDefined":
      return onPoolDefined(draft, event);
    case "PoolDeleted":
      return onPoolDeleted(draft, event);
    case "ModelsCatalogued":
      return onModelsCatalogued(draft, event);
    case "Tick":
      return onTick(draft, event);
    default:
      // Events come from outside (the store, the wire): an unknown tag is the sender's mistake.
      return draft.reject({ event: (event as { _tag?: string })._tag as Event["_tag"], code: "InvalidArgument", message: "unknown event" });
  }
};

/**
 * The one reducer: every event (API call, timer, backend watch, sidecar report) goes through
 * here, in the control plane and in the simulator alike.
 *
 * Pure and total: the same snapshot, event and config give the same result (randomness comes
 * only from `snapshot.rngState`); a bad event comes back as a rejection with the snapshot
 * unchanged, never as a throw. `policies` defaults to fresh policies from the registries;
 * pass one `registryPolicies(config)` per run to keep the placement policies' caches warm.
 */
export const decide = (
  snapshot: Snapshot,
  event: Event,
  config: DecideConfig = defaultDecideConfig,
  policies: DecidePolicies = registryPolicies(config),
): DecideResult => run(snapshot, event, config, policies, false);

/**
 * `decide` for a caller that hands the snapshot over and never reads it again (a simulator
 * stepping millions of events, a control loop that keeps only the latest snapshot): the
 * snapshot's tables are updated in place instead of copied, so a step costs what it touches
 * rather than the size of the fleet. Same results as `decide` for the same inputs; on a
 * rejection the snapshot is still unchanged. Do not use the argument after the call.
 */
export const decideOwned = (
  snapshot: Snapshot,
  event: Event,
  config: DecideConfig = defaultDecideConfig,
  policies: DecidePolicies = registryPolicies(config),
): DecideResult => run(snapshot, event, config, policies, true);

/**
 * A copy of `snapshot` that can be handed to `decideOwned`: every table and the decision log
 * copied once (the records themselves are shared: decide replaces a record, never writes one).
 * A caller that must keep its snapshots unchanged (they were handed out) copies once, then
 * steps many events on the copy in place: one copy per batch instead of one per event.
 */
export const ownedCopy = (snapshot: Snapshot): Snapshot => {
  const leases = { ...snapshot.leases };
  // The lease index moves to the copy: no scan on its first placement.
  carryLeaseIndex(snapshot.leases, leases);
  return copyTables(snapshot, leases);
};

const copyTables = (snapshot: Snapshot, leases: Snapshot["leases"]): Snapshot => ({
  ...snapshot,
  leases,
  names: { ...snapshot.names },
  servers: { ...snapshot.servers },
  nodes: { ...snapshot.nodes },
  pools: { ...snapshot.pools },
  catalog: { models: { ...snapshot.catalog.models }, measured: { ...snapshot.catalog.measured } },
  decisions: [...snapshot.decisions],
});

const run = (snapshot: Snapshot, event: Event, config: DecideConfig, policies: DecidePolicies, owned: boolean): DecideResult => {
  const draft = new Draft(snapshot, config, policies, event?._tag, owned);
  try {
    if (typeof event?.at !== "number" || !Number.isFinite(event.at))
      return rejected(snapshot, { event: event?._tag, code: "InvalidArgument", message: "an event needs a finite `at`" });
    // Time never moves back: a late event is handled at the snapshot's time.
    draft.now = Math.max(snapshot.now, event.at);
    handle(draft, event);
    // A rejection leaves the snapshot as it was (handlers reject before they change anything).
    if (draft.rejections.length > 0 && draft.intents.length === 0 && draft.changes.length === 0)
      return { snapshot, intents: [], rejections: draft.rejections, changes: [] };
    return draft.finish();
  } catch (error) {
    return rejected(snapshot, { event: event?._tag, code: "Internal", message: `decide failed: ${String(error)}` });
  }
};

const rejected = (snapshot: Snapshot, rejection: DecideResult["rejections"][number]): DecideResult => ({
  snapshot,
  intents: [],
  rejections: [rejection],
  changes: [],
});

/**
 * The next instant decide has something to do on a Tick (a lease expires, a warm lease
 * cools, the autoscalers' period, a terminal lease's retention ends), or undefined. Callers
 * schedule one wake-up there: expiry is computed, never polled.
 */
export const nextWakeUp = (snapshot: Snapshot, config: DecideConfig = defaultDecideConfig): number | undefined => {
  // From the lease index (lease-index.ts), not a scan: berthd asks after every group of calls.
  const index = leaseIndexOf(snapshot.leases);
  let next: number | undefined;
  const consider = (at: number | undefined): void => {
    if (at === undefined) return;
    const when = Math.max(at, snapshot.now);
    if (next === undefined || when < next) next = when;
  };
  consider(index.earliestDeadline());
  const terminalSince = index.earliestTerminalSince();
  consider(terminalSince === undefined ? undefined : terminalSince + config.retainTerminal);
  if (index.anyAutoscaled()) consider(snapshot.lastAutoscaleAt + config.autoscaler.syncPeriod);
  return next;
};
