import { modelKey } from "../lease/ownership.js";
import { observeNode } from "./cluster.js";
import type { Draft } from "./draft.js";
import type { EventOf } from "./types.js";

/** A node appeared or changed; what is committed on it stays (its servers report their own fate). */
export const onNodeObserved = (draft: Draft, event: EventOf<"NodeObserved">): void => {
  draft.nodes.set(event.node.name, observeNode(draft.nodes.get(event.node.name), event.node));
};

/** Facts about models (platform, size, load time) from the repositories. */
export const onModelsCatalogued = (draft: Draft, event: EventOf<"ModelsCatalogued">): void => {
  for (const facts of event.models) draft.models.set(modelKey(facts.model), { ...draft.models.get(modelKey(facts.model)), ...facts });
};
