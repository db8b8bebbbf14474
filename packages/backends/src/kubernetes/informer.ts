// List then watch one kind into a map, resuming the watch from the last resourceVersion when
// the server ends it (timeouts, dropped connections) and listing again when that version is
// too old (410 Gone). Every change calls `changed` with the kind of event.
import { Duration, Effect, Stream } from "effect";
import type { KubeApiError, KubeClient, WatchEvent } from "./kube-client.js";

export interface InformerSpec<A> {
  readonly apiVersion: string;
  readonly kind: string;
  /** Watch path, e.g. /apis/apps/v1/namespaces/ns/deployments. */
  readonly path: string;
  readonly namespace: string;
  readonly labelSelector: string;
  readonly decode: (object: unknown) => A | undefined;
  readonly timeoutSeconds: number;
  readonly retryMs: number;
}

export interface InformerCounters {
  /** Watches the server ended that were resumed from the last resourceVersion. */
  resumes: number;
  /** Full lists (the first, and after 410 Gone or errors). */
  lists: number;
}

type Change<A> = { readonly type: WatchEvent["type"]; readonly name: string; readonly value?: A; readonly previous?: A };

const nameOf = (o: Record<string, unknown>): string => String((o.metadata as Record<string, unknown> | undefined)?.name ?? "");
const versionOf = (o: Record<string, unknown>): string | undefined => {
  const rv = (o.metadata as Record<string, unknown> | undefined)?.resourceVersion;
  return typeof rv === "string" ? rv : undefined;
};

/** Lists once into `into` (replacing its contents) and returns the list's resourceVersion. */
export const listInto = <A>(client: KubeClient, spec: InformerSpec<A>, into: Map<string, A>): Effect.Effect<string, KubeApiError> =>
  client.list(spec.apiVersion, spec.kind, spec.namespace, spec.labelSelector).pipe(
    Effect.map((list) => {
      into.clear();
      for (const item of list.items) {
        const value = spec.decode(item);
        if (value !== undefined) into.set(nameOf(item), value);
      }
      return list.resourceVersion;
    }),
  );

/**
 * Follows the kind forever from `resourceVersion` (as returned by listInto), keeping `into`
 * current. Never fails: errors lead to a new list after `retryMs`.
 */
export const follow = <A>(
  client: KubeClient,
  spec: InformerSpec<A>,
  into: Map<string, A>,
  initialVersion: string,
  changed: (change: Change<A>) => Effect.Effect<void>,
  counters: InformerCounters,
): Effect.Effect<never> =>
  Effect.gen(function* () {
    let version = initialVersion;
    for (;;) {
      const outcome = yield* client.watchOnce(spec.path, spec.labelSelector, version, spec.timeoutSeconds).pipe(
        Stream.runForEach((event) =>
          Effect.suspend(() => {
            version = versionOf(event.object) ?? version;
            if (event.type === "BOOKMARK") return Effect.void;
            const name = nameOf(event.object);
            const previous = into.get(name);
            const value = event.type === "DELETED" ? undefined : spec.decode(event.object);
            if (value === undefined) into.delete(name);
            else into.set(name, value);
            return changed({ type: event.type, name, ...(value !== undefined ? { value } : {}), ...(previous !== undefined ? { previous } : {}) });
          }),
        ),
        Effect.either,
      );
      if (outcome._tag === "Right") {
        counters.resumes++;
        continue;
      }
      // 410: the version is gone from the server's history; anything else: back off. Both re-list.
      if (outcome.left.status !== 410) yield* Effect.sleep(Duration.millis(spec.retryMs));
      const relisted = yield* Effect.either(listInto(client, spec, into));
      if (relisted._tag === "Right") {
        counters.lists++;
        version = relisted.right;
        yield* changed({ type: "MODIFIED", name: "" });
      }
    }
  });
