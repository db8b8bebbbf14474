// berth model list
import type { Group, Verb } from "../command.js";
import { modelView } from "../views.js";
import { printList } from "./print.js";

const list: Verb = {
  name: "list",
  aliases: ["ls"],
  summary: "list the models in berthd's configured repositories",
  args: [],
  flags: [{ name: "repository", short: "r", kind: "string", value: "REPO", description: "only this repository" }],
  examples: ["berth model list", "berth model list -r demo -o json"],
  async run(ctx) {
    const client = await ctx.client();
    const reply = await client.repository.listModels({ repository: ctx.flags.string("repository") ?? "" });
    return printList(ctx, reply.models, modelView);
  },
};

export const modelGroup: Group = { name: "model", summary: "browse model repositories", verbs: [list] };
