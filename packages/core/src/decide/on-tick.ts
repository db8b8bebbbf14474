import { isTerminal } from "../lease/phase.js";
import { autoscale } from "./autoscale.js";
import type { Draft } from "./draft.js";
import { expireLeases, pruneTerminal } from "./expire.js";
import { deleteServer } from "./lifecycle.js";
import { ensureMinInstances } from "./on-pool.js";
import type { EventOf } from "./types.js";
import { poolServers } from "./views.js";

/** Servers no lease holds: bespoke ones always go, pool instances beyond the pool's minimum go (newest first). */
const removeEmptyServers = (draft: Draft): void => {
  for (const id of draft.servers.select((s) => s.kind === "bespoke" && draft.leasesOn(s.id).every((l) => isTerminal(l.phase))))
    deleteServer(draft, draft.servers.get(id)!);
  for (const pool of draft.pools.keys()) {
    const spec = draft.pools.get(pool)!;
    const instances = poolServers(draft, pool);
    let surplus = instances.length - spec.minInstances;
    for (const server of [...instances].reverse()) {
      if (surplus <= 0) break;
      if (server.leases.length > 0) continue;
      deleteServer(draft, server);
      surplus--;
    }
    ensureMinInstances(draft, pool);
  }
};

/** Time passes: leases expire, warm ones cool, empty servers go, autoscalers run on their period. */
export const onTick = (draft: Draft, _event: EventOf<"Tick">): void => {
  expireLeases(draft);
  removeEmptyServers(draft);
  if (draft.now - draft.lastAutoscaleAt >= draft.config.autoscaler.syncPeriod) autoscale(draft);
  pruneTerminal(draft);
};
