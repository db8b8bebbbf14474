import { Effect } from "effect";

// Structured logs: a message plus fields (lease and server ids, sequence numbers). main.ts
// installs effect's JSON logger, so each line is one JSON object with these as annotations.

type Fields = Readonly<Record<string, unknown>>;

export const logInfo = (message: string, fields: Fields = {}): Effect.Effect<void> => Effect.logInfo(message).pipe(Effect.annotateLogs(fields));
export const logWarn = (message: string, fields: Fields = {}): Effect.Effect<void> => Effect.logWarning(message).pipe(Effect.annotateLogs(fields));
export const logError = (message: string, fields: Fields = {}): Effect.Effect<void> => Effect.logError(message).pipe(Effect.annotateLogs(fields));
export const logDebug = (message: string, fields: Fields = {}): Effect.Effect<void> => Effect.logDebug(message).pipe(Effect.annotateLogs(fields));
