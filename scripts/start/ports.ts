// Checks the fixed ports before anything starts, so a taken port is one clear message naming
// the flag that moves it, not a stack trace from whichever listener happened to bind last.
import { createServer } from "node:net";

export interface PortClaim {
  readonly host: string;
  readonly port: number;
  /** What listens there ("the router's KServe v2 HTTP"). */
  readonly what: string;
  /** The flag that changes it ("--router-http-port N"). */
  readonly flag: string;
}

const free = (host: string, port: number): Promise<NodeJS.ErrnoException | undefined> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });

/** One line per claim whose port cannot be bound (port 0 always can). */
export async function takenPorts(claims: readonly PortClaim[]): Promise<string[]> {
  const problems: string[] = [];
  for (const c of claims) {
    if (c.port === 0) continue;
    const error = await free(c.host, c.port);
    if (error === undefined) continue;
    const why = error.code === "EADDRINUSE" ? "is already in use (another berth, Triton or server?)" : `cannot be used: ${error.message}`;
    problems.push(`${c.host}:${c.port} (${c.what}) ${why}; pick another with ${c.flag}`);
  }
  return problems;
}

/** "127.0.0.1:50051" -> host and port; undefined when it is not host:port. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const at = address.lastIndexOf(":");
  if (at <= 0) return undefined;
  const port = Number(address.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ""), port };
}
