// Host-network mode: every replica gets its own block of three host ports (http, grpc,
// metrics), so any number of replicas of any servers share a node. Blocks are aligned on the
// range's first port; the ports in use are read back from the Deployments' annotations, so a
// restarted backend allocates around what runs and a re-applied replica keeps its ports.
import type { HostPorts } from "./objects.js";

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** The first free aligned block in `range` that overlaps no port in `used`; undefined when full. */
export function allocatePortBlock(range: PortRange, used: ReadonlySet<number>): HostPorts | undefined {
  for (let base = range.first; base + 2 <= range.last; base += 3) {
    if (!used.has(base) && !used.has(base + 1) && !used.has(base + 2)) return { http: base, grpc: base + 1, metrics: base + 2 };
  }
  return undefined;
}

/** "http,grpc,metrics" as written in the annotation; undefined when malformed. */
export function parseHostPorts(annotation: string | undefined): HostPorts | undefined {
  if (annotation === undefined) return undefined;
  const parts = annotation.split(",").map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) return undefined;
  return { http: parts[0], grpc: parts[1], metrics: parts[2] };
}
