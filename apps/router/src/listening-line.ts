// The one line the router prints on stdout once it listens, so a parent process learns the
// ports it picked. Everything else goes to stderr.
const EVENT = "berth-router.listening";

export interface RouterPorts {
  readonly http: number;
  readonly grpc: number | null;
}

/** {"event":"berth-router.listening","http":…,"grpc":…,"pid":…} on one line. */
export function formatListeningLine(ports: RouterPorts, pid: number): string {
  return JSON.stringify({ event: EVENT, http: ports.http, grpc: ports.grpc, pid });
}

export function parseListeningLine(line: string): (RouterPorts & { readonly pid: number }) | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { event, http, grpc, pid } = v as Record<string, unknown>;
  if (event !== EVENT || typeof http !== "number" || (typeof grpc !== "number" && grpc !== null) || typeof pid !== "number") return undefined;
  return { http, grpc, pid };
}
