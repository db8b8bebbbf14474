#!/usr/bin/env -S npx tsx
// berth-router: the KServe v2 HTTP and gRPC front door for backends without Kubernetes Services.
//   npx tsx apps/router/src/main.ts [--routes FILE] [--http-port 8000] [--grpc-port 8001] ...
// Prints one JSON line with the ports on stdout once listening; logs go to stderr.
// SIGINT/SIGTERM stop accepting, finish or cut in-flight requests, and exit.
import cluster from "node:cluster";
import { runPrimary, type WorkerListening } from "./cluster-primary.js";
import { FlagError, parseFlags, USAGE, type RouterFlags } from "./flags.js";
import { formatListeningLine } from "./listening-line.js";
import { watchRouteFile, type RouteFileWatch } from "./route-file.js";
import { InMemoryRouteTable } from "./route-table.js";
import { startRouter } from "./router.js";

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

let flags: RouterFlags;
try {
  flags = parseFlags(argv);
} catch (e) {
  if (!(e instanceof FlagError)) throw e;
  process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const routes = new InMemoryRouteTable();
  let watch: RouteFileWatch | undefined;
  if (flags.routes !== undefined) watch = await watchRouteFile(flags.routes, routes, log);
  const router = await startRouter({
    host: flags.host,
    httpPort: flags.httpPort,
    grpcPort: flags.grpcPort,
    picker: flags.picker,
    // Workers draw different picks; one seed still gives a reproducible run.
    seed: flags.seed === undefined || !cluster.isWorker ? flags.seed : flags.seed + cluster.worker!.id,
    routes,
    log,
    // Standalone there is no berthd to renew leases; the counts go to the log.
    onActivity: (lease, requests) => log(`activity: lease '${lease}' ${requests} request(s)`),
  });
  if (cluster.isWorker) process.send!({ event: "berth-router.worker-listening", ports: router.ports } satisfies WorkerListening);
  else process.stdout.write(`${formatListeningLine(router.ports, process.pid)}\n`);
  // A worker may get a signal twice (from the terminal's process group and from the primary).
  const signal = await new Promise<string>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => resolve(s));
  });
  log(`received ${signal}, shutting down`);
  watch?.close();
  await router.close();
}

const run = flags.workers > 1 && cluster.isPrimary ? runPrimary(flags.workers, (line) => process.stderr.write(`${line}\n`)) : main().then(() => 0);
run.then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
