// The one line the server prints on stdout once it listens, so a parent process (the local
// backend) learns the ports it picked. Everything else the server says goes to stderr.

export interface ListeningPorts {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

const EVENT = "berth-model-server.listening";

/** A JSON object on one line: {"event":"berth-model-server.listening","http":…,"grpc":…,"metrics":…,"pid":…}. */
export function formatListeningLine(ports: ListeningPorts, pid: number): string {
  return JSON.stringify({ event: EVENT, http: ports.http, grpc: ports.grpc, metrics: ports.metrics, pid });
}

/** The ports from a line of the server's stdout, or undefined when the line is something else. */
export function parseListeningLine(line: string): (ListeningPorts & { readonly pid: number }) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.event !== EVENT) return undefined;
  const { http, grpc, metrics, pid } = v;
  if (typeof http !== "number" || typeof grpc !== "number" || typeof metrics !== "number" || typeof pid !== "number") return undefined;
  return { http, grpc, metrics, pid };
}
