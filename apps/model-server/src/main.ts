#!/usr/bin/env -S npx tsx
// berth-model-server: a KServe v2 / Triton-compatible server on ONNX Runtime.
//   npx tsx apps/model-server/src/main.ts --model-repository DIR [--http-port 0 ...]
// Prints one JSON line with the ports on stdout once listening; logs go to stderr.
// SIGINT/SIGTERM close the listeners and unload the models, then the process exits.
import { Deferred, Effect } from "effect";
import { FlagError, parseFlags, USAGE } from "./flags.js";
import { formatListeningLine } from "./listening-line.js";
import { modelServer } from "./server.js";

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

let options;
try {
  options = parseFlags(argv);
} catch (e) {
  if (!(e instanceof FlagError)) throw e;
  process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
  process.exit(2);
}

const program = Effect.scoped(
  Effect.gen(function* () {
    const stop = yield* Deferred.make<string>();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => Effect.runSync(Deferred.succeed(stop, signal)));
    }
    const server = yield* modelServer(options);
    process.stdout.write(`${formatListeningLine(server.ports, process.pid)}\n`);
    const signal = yield* Deferred.await(stop);
    process.stderr.write(`received ${signal}, shutting down\n`);
  }),
);

Effect.runPromise(program).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
