// `npm start`: Berth's serving path on one machine, with nothing but Node: berthd (SQLite
// store, process backend, a generated demo repository) and the router on Triton's ports, fed
// from berthd. Prints what to type next; Ctrl-C (or SIGTERM) stops everything and exits 0.
import { parseStartFlags, START_USAGE, StartFlagError } from "./start/flags.js";
import { nextSteps } from "./start/next-steps.js";
import { splitHostPort, takenPorts } from "./start/ports.js";
import { stackConfig, StackError, startStack } from "./start/stack.js";

async function main(argv: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseStartFlags(argv);
  } catch (e) {
    if (!(e instanceof StartFlagError)) throw e;
    process.stderr.write(`berth: ${e.message}\n${START_USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${START_USAGE}\n`);
    return 0;
  }
  if (flags.kubeconfig !== undefined) process.env.KUBECONFIG = flags.kubeconfig;

  let config;
  try {
    config = await stackConfig(flags);
  } catch (e) {
    if (!(e instanceof StackError)) throw e;
    process.stderr.write(`berth: ${e.message}\n`);
    return 2;
  }
  const grpc = splitHostPort(config.listen);
  const http = splitHostPort(config.http);
  const taken = await takenPorts([
    ...(grpc ? [{ ...grpc, what: "berthd's gRPC API", flag: "--listen HOST:PORT" }] : []),
    ...(http ? [{ ...http, what: "berthd's health and metrics", flag: "--http HOST:PORT" }] : []),
    { host: flags.routerHost, port: flags.routerHttpPort, what: "the router's KServe v2 HTTP", flag: "--router-http-port N" },
    { host: flags.routerHost, port: flags.routerGrpcPort, what: "the router's KServe v2 gRPC", flag: "--router-grpc-port N" },
  ]);
  if (taken.length > 0) {
    process.stderr.write(`berth: cannot start:\n${taken.map((t) => `  ${t}\n`).join("")}(npm start -- --help lists every flag)\n`);
    return 1;
  }

  process.stderr.write(`berth: starting berthd (${config.backend.kind} backend, state in ${config.stateDir}) and the router...\n`);
  // A signal during start-up stops what has started as soon as it is up.
  let received: string | undefined;
  const signalled = new Promise<string>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => resolve((received ??= s)));
  });
  let stack;
  try {
    stack = await startStack(flags, config);
  } catch (e) {
    if (!(e instanceof StackError)) throw e;
    process.stderr.write(`berth: ${e.message}\n`);
    return 1;
  }
  // Stopped while starting: nothing to tell.
  if (received === undefined) {
    const started = { event: "berth.started", berthd: stack.berthd, berthdHttp: stack.berthdHttp, router: stack.router, stateDir: config.stateDir, pid: process.pid };
    process.stdout.write(flags.json ? `${JSON.stringify(started)}\n` : nextSteps(stack));
  }

  const signal = await signalled;
  process.stderr.write(`berth: ${signal}: stopping the router, berthd and its servers...\n`);
  await stack.stop();
  process.stderr.write("berth: stopped\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`berth: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
