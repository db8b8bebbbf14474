import { Context, Layer } from "effect";
import type { StoreError } from "./errors.js";
import { makeMemoryStore, type MemoryStoreOptions } from "./memory.js";
import { makePostgresStore, type PostgresStoreOptions } from "./postgres.js";
import { makeSqliteStore, type SqliteStoreOptions } from "./sqlite.js";
import type { StoreShape } from "./types.js";

/**
 * berthd's persistent state: an append-only event log with snapshots. "Persist first, act
 * second": an event is appended (and durable) before decide sees it, so a restart replays the
 * newest snapshot plus the events after it and arrives where it was.
 */
export class Store extends Context.Tag("@berth/control-plane/Store")<Store, StoreShape>() {
  /** One embedded file, zero setup; one berthd at a time. */
  static readonly layerSqlite = (options: SqliteStoreOptions): Layer.Layer<Store, StoreError> => Layer.scoped(Store, makeSqliteStore(options));
  /** Shared by several berthd replicas; one leads (writes), the others stand by. */
  static readonly layerPostgres = (options: PostgresStoreOptions): Layer.Layer<Store, StoreError> => Layer.scoped(Store, makePostgresStore(options));
  /** In process memory, for tests of other components. */
  static readonly layerMemory: Layer.Layer<Store> = Layer.effect(Store, makeMemoryStore());
  static readonly layerMemoryWith = (options: MemoryStoreOptions): Layer.Layer<Store> => Layer.effect(Store, makeMemoryStore(options));
}
