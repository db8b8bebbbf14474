#!/usr/bin/env -S npx tsx
// berth-sidecar: runs beside one inference server replica (see ../README.md).
import { FlagError, parseFlags, USAGE } from "./flags.js";
import { startSidecar } from "./sidecar.js";

let options;
try {
  options = parseFlags(process.argv.slice(2), process.env);
} catch (e) {
  if (!(e instanceof FlagError)) throw e;
  process.stderr.write(`${e.message}\n${USAGE}\n`);
  process.exit(2);
}
const sidecar = startSidecar(options);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`received ${signal}, stopping\n`);
    void sidecar.close().then(() => process.exit(0));
  });
}
