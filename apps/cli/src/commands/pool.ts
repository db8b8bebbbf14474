// berth pool create|list|status|delete
import type { Group, Verb } from "../command.js";
import { ExitCode } from "../exit.js";
import { renderOne, toJson, yamlOf } from "../output.js";
import { instanceUseView, poolView } from "../views.js";
import { RESOURCE_FLAGS } from "./lease-flags.js";
import { printChanged, printList } from "./print.js";

const nameArg = { name: "NAME", required: true } as const;

const create: Verb = {
  name: "create",
  summary: "create a pool: a template of server instances that leases share, with a GPU-memory quota per lease and instance",
  args: [nameArg],
  flags: [
    { name: "image", kind: "string", value: "IMAGE", description: "server image (must be on the allowlist; default: berthd's)" },
    ...RESOURCE_FLAGS.map((f) => (f.name === "gpu-memory" ? { ...f, description: "GPU memory of one instance, e.g. 16Gi (required)" } : f.name === "gpus" ? { ...f, description: "whole GPUs per instance (default 1)" } : f)),
    { name: "min-instances", kind: "int", value: "N", description: "instances kept running (default 1)" },
    { name: "max-instances", kind: "int", value: "N", description: "most instances (default --min-instances)" },
    { name: "quota", kind: "string", value: "QUANTITY", description: "GPU memory each lease may use per instance (default: the instance's GPU memory)" },
    { name: "group", kind: "string", value: "GROUP", description: "model group the pool hosts, e.g. onnxruntime (default: from its models)" },
  ],
  examples: [
    "berth pool create small --gpu-memory 16Gi --quota 4Gi --min-instances 1 --max-instances 3",
    "berth pool create onnx --image nvcr.io/nvidia/tritonserver:24.08-py3 --gpu-memory 24Gi --group onnxruntime -o json",
  ],
  async run(ctx) {
    const spec = (await import("./pool-spec.js")).checkedPoolSpec(ctx.args[0], ctx.flags);
    const client = await ctx.client();
    const pool = await client.pool.create({ spec });
    return printChanged(ctx, pool, poolView, `pool/${pool.spec?.name ?? ctx.args[0]} created`);
  },
};

const list: Verb = {
  name: "list",
  aliases: ["ls"],
  summary: "list pools",
  args: [],
  flags: [],
  examples: ["berth pool list", "berth pool list -o json"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.pool.list();
    return printList(ctx, reply.pools, poolView);
  },
};

const status: Verb = {
  name: "status",
  aliases: ["get"],
  summary: "show a pool and the quota use of each of its instances",
  args: [nameArg],
  flags: [],
  examples: ["berth pool status small", "berth pool status small -o yaml"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.pool.status({ name: ctx.args[0] });
    const document = { ...(reply.pool === null ? {} : (poolView.json(reply.pool) as object)), instanceUse: reply.instances.map(instanceUseView.json) };
    if (ctx.output.porcelain) return printList(ctx, reply.instances, instanceUseView);
    if (ctx.output.format === "json") ctx.io.stdout.write(toJson(document));
    else if (ctx.output.format === "yaml") ctx.io.stdout.write(yamlOf(document));
    else {
      if (reply.pool !== null) ctx.io.stdout.write(renderOne(reply.pool, poolView, ctx.output) + "\n");
      printList(ctx, reply.instances, instanceUseView);
    }
    return ExitCode.Ok;
  },
};

const remove: Verb = {
  name: "delete",
  aliases: ["rm"],
  summary: "delete a pool (berthd refuses while leases use it)",
  args: [nameArg],
  flags: [],
  examples: ["berth pool delete small"],
  async run(ctx) {
    const client = await ctx.client();
    const pool = await client.pool.delete({ name: ctx.args[0] });
    return printChanged(ctx, pool, poolView, `pool/${pool.spec?.name ?? ctx.args[0]} deleted`);
  },
};

export const poolGroup: Group = {
  name: "pool",
  summary: "manage pools of shared server instances",
  verbs: [create, list, status, remove],
};
