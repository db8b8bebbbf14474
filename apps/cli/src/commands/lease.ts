// berth lease create|list|status|renew|release|watch|explain
import { randomUUID } from "node:crypto";
import { LEASE_PHASES } from "@berth/core/lease/types";
import { status as grpcStatus } from "@grpc/grpc-js";
import { isServiceError, leasePhaseName, msToDuration, timestampToMs, type Lease } from "@berth/api/berth";
import type { Group, Verb } from "../command.js";
import { CliError, ExitCode } from "../exit.js";
import { iso, renderOne, toJson, until, yamlOf, formatTable, porcelainLine } from "../output.js";
import { ProgressDisplay } from "../progress.js";
import { decisionLines, describeLease, leaseEventView, leaseJson, leaseView, phaseOf } from "../views.js";
import { LEASE_CREATE_FLAGS } from "./lease-flags.js";
import { printChanged, printList } from "./print.js";

/** The spec checks load when a verb needs them (they bring effect and the spec Schemas). */
const specs = () => import("./lease-spec.js");

export const DEFAULT_WAIT_MS = 10 * 60_000;
/** How long past --wait-timeout the CLI waits for berthd's own last message before giving up itself. */
const waitGraceMs = (waitMs: number): number => Math.min(5_000, 1_000 + waitMs / 10);

/** A create that found berthd unavailable is sent again (same idempotency key) this many times in all, waiting 0.5 s, then 1 s. */
const CREATE_ATTEMPTS = 3;
const CREATE_RETRY_MS = 500;

const nameArg = { name: "NAME", required: true } as const;

/** Why a lease was released: its Phase condition says `Released:<reason>` (Expired, ByClient, ...). */
const releaseReason = (lease: Lease): string => {
  const reason = lease.conditions.filter((c) => c.type === "Phase" && c.reason.startsWith("Released:")).at(-1)?.reason;
  return reason === undefined ? "" : reason.slice("Released:".length);
};

const create: Verb = {
  name: "create",
  summary: "create a lease on a set of models (bespoke server or pool), optionally waiting until it is Ready",
  description:
    "The spec is checked with Berth's spec rules before anything is sent; every problem is printed at once (exit 3).\n" +
    "With --wait, progress goes to stderr and the final lease to stdout (-o json for scripts).",
  args: [{ name: "NAME", required: false }],
  flags: LEASE_CREATE_FLAGS,
  examples: [
    "berth lease create web -m simple --wait  # one model from the default repository; exit 0 once Ready",
    "berth lease create vision -m densenet_onnx@models -m resnet50:3@models --gpu-memory 4Gi --duration 30m --activity-window 5m",
    "berth lease create shared -m simple --pool small --quota 2Gi",
    "berth lease create llm -m llama@hf --gpu-memory 20Gi --gpus 1 --min-replicas 1 --max-replicas 4 --metric queue_time --target 200ms --wait",
    "berth lease create chat -m simple --max-replicas 3 --metric inflight --target 4 --autoscaling-mode builtin  # berthd scales, no HPA or metrics adapter",
    "berth lease create -f lease.yaml --wait -o json",
    "berth lease create web -m simple --idempotency-key deploy-42  # run again with the same key: still one lease",
  ],
  async run(ctx) {
    const { checkedLeaseSpec, durationFlag } = await specs();
    const spec = checkedLeaseSpec(ctx.args[0], ctx.flags);
    const wait = ctx.flags.boolean("wait");
    const waitMs = durationFlag(ctx, "wait-timeout", DEFAULT_WAIT_MS);
    const idempotencyKey = ctx.flags.string("idempotency-key") ?? randomUUID();
    if (idempotencyKey === "") throw new CliError({ exitCode: ExitCode.Usage, message: "--idempotency-key must not be empty" });
    const client = await ctx.client();
    const progress = wait ? new ProgressDisplay(ctx.io, `lease/${spec.name}`) : undefined;
    const abort = new AbortController();
    const timer = wait ? setTimeout(() => abort.abort(), waitMs + waitGraceMs(waitMs)) : undefined;
    let last: Lease | undefined;
    try {
      // berthd unreachable for a moment (a restart, a standby taking over): the same key again
      // finds the lease the broken call may already have made, and follows it from where it is.
      for (let attempt = 1; ; attempt++) {
        try {
          for await (const step of client.lease.create({ spec, wait, waitTimeout: wait ? msToDuration(waitMs) : null }, { signal: abort.signal, idempotencyKey })) {
            if (step.lease !== null) last = step.lease;
            if (last !== undefined) progress?.update(phaseOf(last), step.message);
            if (step.done) break;
          }
          break;
        } catch (error) {
          if (abort.signal.aborted || !isServiceError(error) || error.code !== grpcStatus.UNAVAILABLE || attempt >= CREATE_ATTEMPTS) throw error;
          await new Promise((resolve) => setTimeout(resolve, CREATE_RETRY_MS * attempt));
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    } finally {
      clearTimeout(timer);
      progress?.stop();
    }
    if (last === undefined) throw new CliError({ exitCode: ExitCode.Failure, message: `berthd accepted lease ${spec.name} but sent no lease back` });
    const phase = phaseOf(last);
    const view = leaseView(ctx.io.now());
    if (!wait) return printChanged(ctx, last, view, `lease/${last.name} created (${phase})`);
    if (phase === "Ready") {
      const where = last.placement === null ? "" : ` on ${last.placement.serverId}${last.placement.endpoints.length === 0 ? "" : ` (${last.placement.endpoints.join(", ")})`}`;
      return printChanged(ctx, last, view, `lease/${last.name} Ready${where}`);
    }
    printChanged(ctx, last, view, `lease/${last.name} ${phase}`);
    if (phase === "Failed") {
      const why = [last.failureReason, last.failureMessage].filter((s) => s !== "").join(": ");
      throw new CliError({ exitCode: ExitCode.Failure, message: `lease ${last.name} failed${why === "" ? "" : `: ${why}`}` });
    }
    // Released is as final as Failed: waiting longer would not make it Ready.
    if (phase === "Released") {
      const why = releaseReason(last);
      throw new CliError({ exitCode: ExitCode.Failure, message: `lease ${last.name} was released before it was Ready${why === "" ? "" : `: ${why}`}` });
    }
    throw new CliError({
      exitCode: ExitCode.Timeout,
      message: `lease ${last.name} is still ${phase} after waiting ${ctx.flags.string("wait-timeout") ?? "10m"}`,
      details: [`it stays; follow it with \`berth lease watch ${last.name}\` or release it with \`berth lease release ${last.name}\``],
    });
  },
};

const list: Verb = {
  name: "list",
  aliases: ["ls"],
  summary: "list leases",
  args: [],
  flags: [
    { name: "phase", kind: "list", value: "PHASE", choices: LEASE_PHASES, description: "only leases in this phase (repeatable)" },
    { name: "selector", short: "l", kind: "string", value: "SELECTOR", description: "label selector, e.g. team=vision,env!=prod" },
    { name: "tenant", kind: "string", value: "TENANT", description: "only this tenant's leases (admins)" },
    { name: "chunk-size", kind: "int", value: "N", description: "fetch the list N leases per call (default 500, at most 1000; 0: all in one call)" },
  ],
  examples: [
    "berth lease list",
    "berth lease list -o json  # a JSON array of leases with name and phase",
    "berth lease list --phase Ready --phase Loading -l team=vision -o wide",
    "berth lease list --porcelain | cut -f1,2  # name and phase",
  ],
  async run(ctx) {
    const phases = ctx.flags.list("phase").map((p) => leasePhaseName(p as (typeof LEASE_PHASES)[number]));
    const client = await ctx.client();
    const chunkSize = ctx.flags.int("chunk-size");
    const leases = await client.lease.listAll(
      { phases, labelSelector: ctx.flags.string("selector") ?? "", tenant: ctx.flags.string("tenant") ?? "" },
      chunkSize === undefined ? {} : { pageSize: chunkSize },
    );
    return printList(ctx, leases, leaseView(ctx.io.now()));
  },
};

const status: Verb = {
  name: "status",
  aliases: ["get", "describe"],
  summary: "show one lease: phase, placement, expiry, conditions",
  args: [nameArg],
  flags: [],
  examples: ["berth lease status web", "berth lease status web -o yaml", "berth lease status web --porcelain | cut -f2  # just the phase"],
  async run(ctx) {
    const client = await ctx.client();
    const lease = await client.lease.get({ name: ctx.args[0] });
    if (!ctx.output.porcelain && (ctx.output.format === "table" || ctx.output.format === "wide")) {
      ctx.io.stdout.write(describeLease(lease, ctx.io.now()));
    } else {
      ctx.io.stdout.write(renderOne(lease, leaseView(ctx.io.now()), ctx.output));
    }
    return ExitCode.Ok;
  },
};

const renew: Verb = {
  name: "renew",
  summary: "extend a lease (by its activity window, or --extend-by)",
  args: [nameArg],
  flags: [{ name: "extend-by", kind: "string", value: "DURATION", description: "extend by this long from now (default: the lease's activity window)" }],
  examples: ["berth lease renew web", "berth lease renew web --extend-by 1h -o json"],
  async run(ctx) {
    const extendBy = ctx.flags.string("extend-by");
    if (extendBy !== undefined) (await specs()).durationFlag(ctx, "extend-by", 0);
    const client = await ctx.client();
    const lease = await client.lease.renew({ name: ctx.args[0], extendBy: extendBy ?? "" });
    const expires = timestampToMs(lease.expiresAt);
    const when = expires === undefined ? "" : ` until ${iso(expires)} (${until(expires, ctx.io.now())})`;
    return printChanged(ctx, lease, leaseView(ctx.io.now()), `lease/${lease.name} renewed${when}`);
  },
};

const release: Verb = {
  name: "release",
  aliases: ["delete", "rm"],
  summary: "release a lease (its models unload once no other lease holds them)",
  args: [nameArg],
  flags: [],
  examples: ["berth lease release web", "berth lease release web -o json"],
  async run(ctx) {
    const client = await ctx.client();
    const lease = await client.lease.release({ name: ctx.args[0] });
    return printChanged(ctx, lease, leaseView(ctx.io.now()), `lease/${lease.name} released`);
  },
};

const watch: Verb = {
  name: "watch",
  summary: "follow lease changes: every matching lease first, then each change, until interrupted",
  description: "-o json prints one JSON object per line ({type, lease}); -o yaml one document per event.",
  args: [{ name: "NAME", required: false }],
  flags: [{ name: "tenant", kind: "string", value: "TENANT", description: "only this tenant's leases (admins)" }],
  examples: ["berth lease watch", "berth lease watch web -o json | jq -r .lease.phase"],
  async run(ctx) {
    const view = leaseEventView(ctx.io.now());
    const columns = view.columns.filter((c) => ctx.output.format === "wide" || c.wide !== true);
    let first = true;
    const client = await ctx.client();
    for await (const event of client.lease.watch({ name: ctx.args[0] ?? "", tenant: ctx.flags.string("tenant") ?? "" })) {
      if (ctx.output.porcelain) ctx.io.stdout.write(porcelainLine(view.porcelain(event)));
      else if (ctx.output.format === "json") ctx.io.stdout.write(JSON.stringify(view.json(event)) + "\n");
      else if (ctx.output.format === "yaml") ctx.io.stdout.write(`---\n${yamlOf(view.json(event))}`);
      else {
        const table = formatTable(columns.map((c) => c.header), [columns.map((c) => c.value(event))]).split("\n");
        ctx.io.stdout.write(`${first ? `${table[0]}\n` : ""}${table[1]}\n`);
      }
      first = false;
    }
    return ExitCode.Ok;
  },
};

const explain: Verb = {
  name: "explain",
  summary: "show the placement, eviction and scaling decisions recorded for a lease, with every candidate's verdict",
  args: [nameArg],
  flags: [],
  examples: ["berth lease explain web", "berth lease explain web -o json"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.lease.explain({ name: ctx.args[0] });
    const document = {
      lease: reply.lease === null ? null : leaseJson(reply.lease),
      decisions: reply.decisions.map((d) => ({ ...d, at: iso(timestampToMs(d.at)) })),
    };
    if (ctx.output.format === "json" && !ctx.output.porcelain) ctx.io.stdout.write(toJson(document));
    else if (ctx.output.format === "yaml" && !ctx.output.porcelain) ctx.io.stdout.write(yamlOf(document));
    else if (ctx.output.porcelain) {
      reply.decisions.forEach((d, i) => {
        for (const v of d.verdicts) ctx.io.stdout.write(porcelainLine([document.decisions[i].at ?? "", d.kind, d.policy, d.outcome, v.candidate, v.code, String(v.score)]));
      });
    } else {
      const head = reply.lease === null ? `lease/${ctx.args[0]}` : `lease/${reply.lease.name}  ${phaseOf(reply.lease)}`;
      ctx.io.stdout.write(`${head}\n${reply.decisions.length === 0 ? "no decisions recorded\n" : decisionLines(reply.decisions)}`);
    }
    return ExitCode.Ok;
  },
};

export const leaseGroup: Group = {
  name: "lease",
  summary: "create, inspect, renew and release leases",
  verbs: [create, list, status, renew, release, watch, explain],
};
