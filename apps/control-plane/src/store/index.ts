export * from "./errors.js";
export * from "./types.js";
export { Store } from "./store.js";
export { migrations, migrate, latestVersion, type Migration } from "./migrations.js";
export { transientRetry } from "./retry.js";
export type { SqliteStoreOptions } from "./sqlite.js";
export type { PostgresStoreOptions } from "./postgres.js";
export type { MemoryStoreOptions } from "./memory.js";
