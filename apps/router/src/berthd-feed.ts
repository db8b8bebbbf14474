// The router's route source when berthd runs the fleet: follows berthd's leases (List, then
// Watch; again from List after every reconnect) and its servers' endpoints (ServerService.List,
// polled, and after every lease change), and sets the route table from them. The other way,
// the router's activity counts renew the leases they name (LeaseService.Renew), so a lease in
// use through the router stays held even before its servers' statistics say so.
//
// While berthd is unreachable the last table stays: the replicas it names keep serving.
import { isServiceError, type BerthClient, type Lease, type LeaseSpec, type Server } from "@berth/api/berth";
import type { Input } from "@berth/api/berth";
import * as grpc from "@grpc/grpc-js";
import type { ActivityListener } from "./activity.js";
import type { RequestLease } from "./auto-lease.js";
import { routeSetFromBerthd } from "./berthd-routes.js";
import type { AutoLeasePolicy } from "./route-set.js";
import type { RouteTable } from "./route-table.js";

export interface BerthdFeedOptions {
  /** A berth.v1 client of berthd (`createBerthClient`); the feed does not close it. */
  readonly client: BerthClient;
  readonly routes: RouteTable;
  /** Auto-lease policies by model ("*" for any), put into every route set as they are. */
  readonly autoLease?: Readonly<Record<string, AutoLeasePolicy>>;
  /** The spec of a lease asked for by auto-lease; without it no lease is asked for. */
  readonly autoLeaseSpec?: (model: string) => Input<LeaseSpec>;
  /** How often the servers' endpoints are listed between lease changes (default 1 s). */
  readonly serverPollMs?: number;
  /** Reconnect backoff: doubling from `retryBaseMs` up to `retryCapMs` (defaults 100 ms, 2 s). */
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  readonly log?: (line: string) => void;
}

export interface BerthdFeed {
  /** Resolves once the first route set from berthd is in the table. */
  readonly synced: Promise<void>;
  /** For `startRouter({ onActivity })`: renews each active lease whose renewal is enabled. */
  readonly onActivity: ActivityListener;
  /** For `startRouter({ requestLease })`: creates the auto-lease (present when `autoLeaseSpec` is). */
  readonly requestLease?: RequestLease;
  /** Counts so far: renewals sent and failed, times the feed (re)synchronised from List, lost berthd. */
  readonly stats: () => { readonly renewals: number; readonly renewalFailures: number; readonly syncs: number; readonly disconnects: number };
  close(): Promise<void>;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

export function followBerthd(options: BerthdFeedOptions): BerthdFeed {
  const { client, routes } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const serverPollMs = options.serverPollMs ?? 1_000;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const retryCapMs = options.retryCapMs ?? 2_000;
  const stopped = new AbortController();

  let leases = new Map<string, Lease>();
  let servers = new Map<string, Server>();
  let published: string | undefined;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const counts = { renewals: 0, renewalFailures: 0, syncs: 0, disconnects: 0 };

  const publish = (): void => {
    if (stopped.signal.aborted) return;
    const set = routeSetFromBerthd(leases.values(), servers, options.autoLease, routes.loaded ? routes.current() : undefined);
    const key = JSON.stringify(set);
    if (key === published) return;
    published = key;
    routes.set(set);
    markSynced();
  };

  // One listing at a time; a change during a listing asks for one more after it.
  let listing: Promise<void> | undefined;
  let again = false;
  const refreshServers = (): Promise<void> => {
    if (listing !== undefined) {
      again = true;
      return listing;
    }
    listing = (async () => {
      do {
        again = false;
        try {
          const listed = await client.server.list();
          servers = new Map(listed.servers.map((s) => [s.id, s]));
        } catch (e) {
          if (!stopped.signal.aborted) log(`berthd-feed: listing servers failed: ${message(e)}`);
        }
        publish();
      } while (again && !stopped.signal.aborted);
    })().finally(() => (listing = undefined));
    return listing;
  };

  const follow = async (): Promise<void> => {
    let attempt = 0;
    while (!stopped.signal.aborted) {
      let lost: string;
      try {
        const listed = await client.lease.listAll({});
        leases = new Map(listed.map((l) => [l.name, l]));
        await refreshServers();
        publish();
        counts.syncs++;
        if (attempt > 0) log(`berthd-feed: following berthd at ${client.address} again`);
        attempt = 0;
        for await (const event of client.lease.watch({}, { signal: stopped.signal })) {
          const lease = event.lease;
          if (lease === null) continue;
          if (event.type === "TYPE_DELETED") leases.delete(lease.name);
          else leases.set(lease.name, lease);
          publish();
          void refreshServers();
        }
        lost = "the watch ended";
      } catch (e) {
        lost = `${message(e)}${isServiceError(e) ? ` (${grpc.status[e.code]})` : ""}`;
      }
      if (stopped.signal.aborted) return;
      if (attempt === 0) {
        counts.disconnects++;
        log(`berthd-feed: lost berthd at ${client.address}: ${lost}; retrying, routes kept`);
      }
      await sleep(Math.min(retryCapMs, retryBaseMs * 2 ** Math.min(attempt++, 16)), stopped.signal);
    }
  };

  const poller = setInterval(() => void refreshServers(), serverPollMs);
  poller.unref();
  const running = follow();

  const renewing = new Set<string>();
  const onActivity: ActivityListener = (name) => {
    const lease = leases.get(name);
    // A lease that does not renew on activity is left to its own clock.
    if (lease === undefined || lease.spec?.renewal?.enabled === false || renewing.has(name) || stopped.signal.aborted) return;
    renewing.add(name);
    client.lease
      .renew({ name })
      .then(
        (renewed) => {
          counts.renewals++;
          if (leases.has(name)) leases.set(name, renewed);
        },
        (e: unknown) => {
          counts.renewalFailures++;
          log(`berthd-feed: renewing lease '${name}' failed: ${message(e)}`);
        },
      )
      .finally(() => renewing.delete(name));
  };

  const autoLeaseSpec = options.autoLeaseSpec;
  const requestLease: RequestLease | undefined =
    autoLeaseSpec === undefined
      ? undefined
      : async (model) => {
          try {
            for await (const progress of client.lease.create({ spec: autoLeaseSpec(model), wait: false })) void progress;
          } catch (e) {
            // Someone asked first: the lease exists, and its route will appear.
            if (isServiceError(e) && e.code === grpc.status.ALREADY_EXISTS) return;
            throw e;
          }
        };

  return {
    synced,
    onActivity,
    ...(requestLease !== undefined ? { requestLease } : {}),
    stats: () => ({ ...counts }),
    async close() {
      stopped.abort();
      clearInterval(poller);
      await running;
      await listing;
    },
  };
}
