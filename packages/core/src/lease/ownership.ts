import type { ModelRef } from "../spec/types.js";
import { isTerminal } from "./phase.js";
import type { LeaseRecord } from "./types.js";

// Shared ownership: several leases may hold the same model on one server; the model is
// loaded once and unloads only when the last lease holding it there goes.

/** A model's identity: `repository/name` plus `@version` when pinned. */
export const modelKey = (ref: ModelRef): string =>
  ref.version === undefined ? `${ref.repository}/${ref.name}` : `${ref.repository}/${ref.name}@${ref.version}`;

/** A model set's identity, independent of the order the spec lists the models in. */
export const modelSetKey = (refs: readonly ModelRef[]): string => [...new Set(refs.map(modelKey))].sort().join(",");

/** Does `ref` answer to `name` (`name` or `repository/name`, optionally `@version`)? */
export const modelMatches = (ref: ModelRef, name: string): boolean =>
  name === ref.name || name === `${ref.repository}/${ref.name}` || name === modelKey(ref);

/** A lease holds its models on its server while it is not terminal (Expiring leases keep them warm). */
export const holdsModels = (lease: LeaseRecord): boolean => !isTerminal(lease.phase) && lease.placement !== undefined;

/** Holders of each model on `serverId`: model key -> ids of the leases holding it there (sorted). */
export const holdersOn = (serverId: string, leases: Iterable<LeaseRecord>): ReadonlyMap<string, readonly string[]> => {
  const holders = new Map<string, string[]>();
  for (const lease of leases) {
    if (!holdsModels(lease) || lease.placement?.serverId !== serverId) continue;
    for (const key of new Set(lease.spec.models.map(modelKey))) {
      const list = holders.get(key);
      if (list) list.push(lease.id);
      else holders.set(key, [lease.id]);
    }
  }
  for (const list of holders.values()) list.sort();
  return holders;
};

/**
 * The models to unload when `leaving` leaves `serverId`: its models that no other lease
 * holding models there also holds.
 */
export const modelsToUnload = (leaving: LeaseRecord, serverId: string, leases: Iterable<LeaseRecord>): readonly ModelRef[] => {
  const held = new Set<string>();
  for (const lease of leases) {
    if (lease.id === leaving.id || !holdsModels(lease) || lease.placement?.serverId !== serverId) continue;
    for (const ref of lease.spec.models) held.add(modelKey(ref));
  }
  const seen = new Set<string>();
  return leaving.spec.models.filter((ref) => {
    const key = modelKey(ref);
    if (held.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};
