import { Context, Effect, Layer, Option } from "effect";
import { BerthdConfig } from "../config/config.js";
import type { StoreError } from "../store/errors.js";
import { Store } from "../store/store.js";

const KEY = "allowlist";

export interface AllowlistShape {
  readonly list: Effect.Effect<readonly string[]>;
  /** Adds images not yet listed (appending one twice changes nothing); returns the new list. */
  readonly append: (images: readonly string[]) => Effect.Effect<readonly string[], StoreError>;
  readonly remove: (images: readonly string[]) => Effect.Effect<readonly string[], StoreError>;
}

/**
 * The server images leases may use, kept in the store (it outlives restarts and is shared by
 * replicas). Starts as the configured list; configured images (the default one included) are always allowed.
 */
export class Allowlist extends Context.Tag("@berth/control-plane/Allowlist")<Allowlist, AllowlistShape>() {
  static readonly layer: Layer.Layer<Allowlist, StoreError, Store | BerthdConfig> = Layer.effect(
    Allowlist,
    Effect.gen(function* () {
      const store = yield* Store;
      const config = yield* BerthdConfig;
      const stored = yield* store.getConfig(KEY);
      let images: readonly string[] = Option.match(stored, {
        onNone: () => config.initialAllowlist,
        onSome: (value) => [...new Set([config.images.default, ...config.images.allowlist, ...(value as readonly string[])])],
      });
      const save = (next: readonly string[]) =>
        Effect.gen(function* () {
          if (next.length !== images.length || next.some((x, i) => x !== images[i])) yield* store.putConfig(KEY, next);
          images = next;
          return images;
        });
      // What the configuration lists stays allowed whatever the API removes (it would be back after a restart).
      const configured = new Set(config.initialAllowlist);
      const lock = yield* Effect.makeSemaphore(1);
      return {
        list: Effect.sync(() => images),
        append: (add) => lock.withPermits(1)(Effect.suspend(() => save([...images, ...add.filter((x, i) => !images.includes(x) && add.indexOf(x) === i)]))),
        remove: (drop) => lock.withPermits(1)(Effect.suspend(() => save(images.filter((x) => configured.has(x) || !drop.includes(x))))),
      };
    }),
  );
}
