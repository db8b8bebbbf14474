// Free TCP ports, found by binding port 0. All are held open until every one is found, so
// the ports of one replica are distinct; another process may still take one before the
// server binds it, which shows up as a failed start and a restart on fresh ports.
import { createServer, type Server } from "node:net";
import { Effect } from "effect";

const listen = (host: string): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => resolve(server));
  });

export const freePorts = (host: string, count: number): Effect.Effect<number[], Error> =>
  Effect.tryPromise({
    try: async () => {
      const servers: Server[] = [];
      try {
        for (let i = 0; i < count; i++) servers.push(await listen(host));
        return servers.map((s) => {
          const address = s.address();
          if (address === null || typeof address === "string") throw new Error("no TCP address");
          return address.port;
        });
      } finally {
        await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      }
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e))),
  });
