// From an Assignment (leases, each with its models) to the set of models the server must
// hold. A model several leases name is wanted once (shared ownership): it stays loaded while
// any assigned lease holds it. A server serves one model per name, so two repositories
// offering the same name to one server is a conflict the later lease fails on.
import type { AssignedLease, Assignment } from "@berth/api/sidecar";

export interface WantedModel {
  readonly name: string;
  readonly repository: string;
  /** The version to fetch besides the version policy's (0: none). */
  readonly version: number;
  readonly leaseIds: readonly string[];
}

export interface DesiredModels {
  readonly wanted: ReadonlyMap<string, WantedModel>;
  /** Per lease id, a model reference that conflicts with the repository another lease claimed first. */
  readonly conflicts: ReadonlyMap<string, { readonly model: string; readonly error: string }>;
}

export function desiredModels(assignment: Assignment, defaultRepository: string): DesiredModels {
  const wanted = new Map<string, { name: string; repository: string; version: number; leaseIds: string[] }>();
  const conflicts = new Map<string, { model: string; error: string }>();
  for (const lease of assignment.leases) {
    for (const ref of lease.models) {
      const repository = ref.repository === "" ? defaultRepository : ref.repository;
      const version = Number(ref.version);
      const existing = wanted.get(ref.name);
      if (existing === undefined) {
        wanted.set(ref.name, { name: ref.name, repository, version, leaseIds: [lease.lease_id] });
      } else if (existing.repository !== repository) {
        if (!conflicts.has(lease.lease_id)) {
          conflicts.set(lease.lease_id, {
            model: ref.name,
            error: `model '${ref.name}' from repository '${repository}' conflicts with '${ref.name}' from '${existing.repository}' already assigned to this server (one model per name)`,
          });
        }
      } else {
        if (!existing.leaseIds.includes(lease.lease_id)) existing.leaseIds.push(lease.lease_id);
        if (version > existing.version) existing.version = version;
      }
    }
  }
  return { wanted, conflicts };
}

/** Model names per lease id. */
export function modelsByLease(leases: readonly AssignedLease[]): Map<string, string[]> {
  return new Map(leases.map((l) => [l.lease_id, l.models.map((m) => m.name)]));
}
