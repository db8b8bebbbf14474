// berth allowlist add|list|rm
import type { Group, Verb } from "../command.js";
import { imageView } from "../views.js";
import { printList } from "./print.js";

const imagesArg = { name: "IMAGE...", required: true, variadic: true } as const;

const add: Verb = {
  name: "add",
  summary: "allow server images (adding one twice changes nothing); prints the allowlist",
  args: [imagesArg],
  flags: [],
  examples: ["berth allowlist add nvcr.io/nvidia/tritonserver:24.08-py3", "berth allowlist add 'nvcr.io/nvidia/tritonserver:*'  # a prefix"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.allowlist.append({ images: ctx.args });
    return printList(ctx, reply.images, imageView);
  },
};

const list: Verb = {
  name: "list",
  aliases: ["ls"],
  summary: "list the allowed server images",
  args: [],
  flags: [],
  examples: ["berth allowlist list", "berth allowlist list -o json"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.allowlist.list();
    return printList(ctx, reply.images, imageView);
  },
};

const rm: Verb = {
  name: "rm",
  aliases: ["remove"],
  summary: "remove server images from the allowlist; prints what remains",
  args: [imagesArg],
  flags: [],
  examples: ["berth allowlist rm nvcr.io/nvidia/tritonserver:24.08-py3"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.allowlist.remove({ images: ctx.args });
    return printList(ctx, reply.images, imageView);
  },
};

export const allowlistGroup: Group = {
  name: "allowlist",
  summary: "the server images leases and pools may use",
  verbs: [add, list, rm],
};
