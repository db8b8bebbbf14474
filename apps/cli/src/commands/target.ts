// berth target add|list|set|remove: named berthd endpoints in the config file (kubectl's contexts).
import { resolve } from "node:path";
import type { Group, Verb } from "../command.js";
import { loadConfig, saveConfig, type Target } from "../config.js";
import { CliError, ExitCode, usageError } from "../exit.js";
import { targetView } from "../views.js";
import { printList } from "./print.js";

const nameArg = { name: "NAME", required: true } as const;

const notFound = (name: string, targets: readonly Target[]): CliError =>
  new CliError({
    exitCode: ExitCode.NotFound,
    message: `no target named "${name}"`,
    details: [targets.length === 0 ? "add one with `berth target add NAME --address HOST:PORT`" : `known targets: ${targets.map((t) => t.name).join(", ")}`],
  });

const add: Verb = {
  name: "add",
  summary: "store a berthd endpoint under a name (the first one added becomes current)",
  args: [nameArg],
  flags: [
    { name: "address", kind: "string", value: "HOST:PORT", description: "berthd's gRPC address (required)" },
    { name: "token", kind: "string", value: "TOKEN", description: "bearer token to send (stored in the config file, mode 0600)" },
    { name: "tls", kind: "boolean", description: "use TLS with the system's root certificates" },
    { name: "ca", kind: "string", value: "FILE", description: "TLS: PEM file of the CA that signed berthd's certificate (implies --tls)" },
    { name: "cert", kind: "string", value: "FILE", description: "TLS: client certificate PEM file (implies --tls)" },
    { name: "key", kind: "string", value: "FILE", description: "TLS: client key PEM file (implies --tls)" },
    { name: "use", kind: "boolean", description: "make it the current target" },
    { name: "overwrite", kind: "boolean", description: "replace a target of the same name" },
  ],
  examples: [
    "berth target add local --address 127.0.0.1:50051",
    "berth target add prod --address berth.example.com:443 --ca ca.pem --token \"$BERTH_TOKEN\" --use",
  ],
  async run(ctx) {
    const [name] = ctx.args;
    const address = ctx.flags.string("address");
    if (address === undefined) throw usageError("`berth target add` needs --address HOST:PORT", "see `berth target add --help`");
    const config = loadConfig(ctx.io);
    const exists = config.targets.some((t) => t.name === name);
    if (exists && !ctx.flags.boolean("overwrite")) {
      throw new CliError({ exitCode: ExitCode.AlreadyExists, message: `a target named "${name}" exists`, details: ["pass --overwrite to replace it"] });
    }
    const tlsFiles = Object.fromEntries((["ca", "cert", "key"] as const).flatMap((k) => {
      const v = ctx.flags.string(k);
      // Absolute, so the target works from any directory.
      return v === undefined ? [] : [[k, resolve(v)]];
    }));
    const useTls = ctx.flags.boolean("tls") || Object.keys(tlsFiles).length > 0;
    const token = ctx.flags.string("token");
    const target: Target = { name, address, ...(token === undefined ? {} : { token }), ...(useTls ? { tls: tlsFiles } : {}) };
    const targets = exists ? config.targets.map((t) => (t.name === name ? target : t)) : [...config.targets, target];
    const current = ctx.flags.boolean("use") || config.current === undefined ? name : config.current;
    const path = saveConfig(ctx.io, { ...config, current, targets });
    ctx.io.stdout.write(`target/${name} ${exists ? "replaced" : "added"}${current === name ? " (current)" : ""} in ${path}\n`);
    return ExitCode.Ok;
  },
};

const list: Verb = {
  name: "list",
  aliases: ["ls"],
  summary: "list stored targets; * marks the current one",
  args: [],
  flags: [],
  examples: ["berth target list", "berth target list -o json"],
  async run(ctx) {
    const config = loadConfig(ctx.io);
    return printList(ctx, config.targets, targetView(config.current));
  },
};

const set: Verb = {
  name: "set",
  aliases: ["use"],
  summary: "make a stored target the current one",
  args: [nameArg],
  flags: [],
  examples: ["berth target set prod"],
  async run(ctx) {
    const [name] = ctx.args;
    const config = loadConfig(ctx.io);
    if (!config.targets.some((t) => t.name === name)) throw notFound(name, config.targets);
    saveConfig(ctx.io, { ...config, current: name });
    ctx.io.stdout.write(`target/${name} is current\n`);
    return ExitCode.Ok;
  },
};

const remove: Verb = {
  name: "remove",
  aliases: ["rm"],
  summary: "forget a stored target",
  args: [nameArg],
  flags: [],
  examples: ["berth target remove prod"],
  async run(ctx) {
    const [name] = ctx.args;
    const config = loadConfig(ctx.io);
    if (!config.targets.some((t) => t.name === name)) throw notFound(name, config.targets);
    const targets = config.targets.filter((t) => t.name !== name);
    const current = config.current === name ? targets[0]?.name : config.current;
    const { current: _previous, ...others } = config;
    saveConfig(ctx.io, { ...others, ...(current === undefined ? {} : { current }), targets });
    ctx.io.stdout.write(`target/${name} removed\n`);
    return ExitCode.Ok;
  },
};

export const targetGroup: Group = {
  name: "target",
  summary: "named berthd endpoints (address, token, TLS), like kubectl contexts",
  verbs: [add, list, set, remove],
};
