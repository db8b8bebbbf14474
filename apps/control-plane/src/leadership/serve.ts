import { Context, Data, Effect, Layer, Option, Stream } from "effect";
import { berthdLayer, storeLayer } from "../berthd.js";
import type { BerthdConfigShape } from "../config/config.js";
import { logInfo, logWarn } from "../log.js";
import { StoreError } from "../store/errors.js";
import { knownLeaderOf } from "../store/leader-control.js";
import { Store } from "../store/store.js";

/** berthd's exit status after it lost the lead with `store.onLeadershipLost: exit` (EX_TEMPFAIL: start it again). */
export const LEADERSHIP_LOST_EXIT_CODE = 75;

export class LeadershipLost extends Data.TaggedError("LeadershipLost")<{ readonly replica: string; readonly leader: Option.Option<string> }> {
  override get message(): string {
    return `replica ${this.replica} lost the lead${Option.match(this.leader, { onNone: () => "", onSome: (l) => ` to ${l}` })}; exiting for the supervisor to start it again`;
  }
}

type BerthdContext = Layer.Layer.Success<ReturnType<typeof berthdLayer>>;

export interface ServeOptions {
  /** Runs once each term is up (this replica leads and every layer is built), with its services. */
  readonly onLead?: (context: Context.Context<BerthdContext>) => Effect.Effect<void>;
}

/**
 * berthd for as long as it runs: the store stays open; on it, terms. A term waits to lead (the
 * engine's start does: a PostgreSQL standby waits there), builds every layer, and lasts until
 * the leadership is lost; then everything but the store is torn down (the backend gate has
 * already stopped it acting, and the API has been refusing calls since the same instant) and,
 * with `onLeadershipLost: standby`, the next term waits to lead again. The embedded stores
 * lead until berthd stops: one term.
 */
export const serveBerthd = (config: BerthdConfigShape, options: ServeOptions = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const storeContext = yield* Layer.build(storeLayer(config));
      const store = Context.get(storeContext, Store);
      const layer = berthdLayer(config, Layer.succeedContext(storeContext));
      const term = Effect.scoped(
        Effect.gen(function* () {
          const built = yield* Layer.build(layer).pipe(
            // Lost the lead while starting (a start-up write was fenced): the same as losing it later.
            Effect.map(Option.some),
            Effect.catchIf((error) => error instanceof StoreError && error.reason === "Fenced", () => Effect.succeed(Option.none())),
          );
          if (Option.isSome(built) && options.onLead !== undefined) yield* options.onLead(built.value);
          if (Option.isSome(built)) yield* store.leadership.changes.pipe(Stream.filter((state) => state.role === "follower"), Stream.runHead);
          const leader = yield* knownLeaderOf(store.leadership);
          yield* logWarn("lost the lead: stepping down", { replica: store.leadership.replica, leader: Option.getOrElse(leader, () => "unknown") });
          return leader;
        }),
      );
      for (;;) {
        const leader = yield* term;
        if (config.store.onLeadershipLost === "exit") return yield* Effect.fail(new LeadershipLost({ replica: store.leadership.replica, leader }));
        yield* logInfo("standing by to lead again", { replica: store.leadership.replica });
      }
    }),
  );
