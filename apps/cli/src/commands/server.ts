// berth server list
import type { Group, Verb } from "../command.js";
import { serverView } from "../views.js";
import { printList } from "./print.js";

const list: Verb = {
  name: "list",
  aliases: ["ls"],
  summary: "list the inference servers the backend made, with their replicas, GPU memory and leases",
  args: [],
  flags: [],
  examples: ["berth server list", "berth server list -o wide", "berth server list -o json"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.server.list();
    return printList(ctx, reply.servers, serverView);
  },
};

export const serverGroup: Group = { name: "server", summary: "inspect inference servers", verbs: [list] };
