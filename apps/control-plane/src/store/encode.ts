import { createHash } from "node:crypto";
import { Effect } from "effect";
import { storeError, type StoreError } from "./errors.js";
import type { StoreEvent } from "./types.js";

/** An event checked and serialised once, so that every backend stores the same bytes. */
export interface EncodedEvent {
  readonly type: string;
  readonly at: number;
  readonly json: string;
}

/**
 * JSON.stringify turns Infinity and NaN into null without a word; the store refuses them instead,
 * so that what is read back is what was written (encode them first, as the engine's codec does).
 */
const strict = (key: string, value: unknown): unknown => {
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`${key === "" ? "the value" : `"${key}"`} is ${value}, which JSON cannot hold`);
  return value;
};

const stringify = (value: unknown): string | undefined => JSON.stringify(value, strict);

const encodeOne = (event: StoreEvent, index: number): EncodedEvent => {
  if (event === null || typeof event !== "object" || Array.isArray(event)) throw new Error(`event ${index} is not an object`);
  if (typeof event.type !== "string" || event.type.length === 0) throw new Error(`event ${index} has no type`);
  if (typeof event.at !== "number" || !Number.isFinite(event.at)) throw new Error(`event ${index} (${event.type}) has no finite \`at\``);
  return { type: event.type, at: event.at, json: preEncoded(event) ?? stringify(event)! };
};

/** `{type, at, event}` whose `event` its owner serialised (EncodedJson): the same text stringify would give, without encoding the event again. */
const preEncoded = (event: StoreEvent): string | undefined => {
  const inner = (event as { readonly event?: unknown }).event;
  if (!(inner instanceof EncodedJson)) return undefined;
  const keys = Object.keys(event);
  if (keys.length !== 3 || keys[0] !== "type" || keys[1] !== "at" || keys[2] !== "event") return undefined;
  return `{"type":${JSON.stringify(event.type)},"at":${JSON.stringify(event.at)},"event":${inner.text}}`;
};

export const encodeEvents = (events: ReadonlyArray<StoreEvent>): Effect.Effect<ReadonlyArray<EncodedEvent>, StoreError> =>
  Effect.try({
    try: () => {
      if (events.length === 0) throw new Error("append needs at least one event");
      return events.map(encodeOne);
    },
    catch: (cause) => storeError("Invalid", cause instanceof Error ? cause.message : String(cause), { cause }),
  });

/**
 * A value its owner has already serialised (checked the same way: no Infinity or NaN, JSON
 * itself): the store writes the text as it is instead of encoding a large state a second time.
 */
export class EncodedJson {
  constructor(readonly text: string) {}
}

export const encodeJson = (what: string, value: unknown): Effect.Effect<string, StoreError> =>
  Effect.try({
    try: () => {
      if (value instanceof EncodedJson) return value.text;
      const json = stringify(value);
      if (json === undefined) throw new Error(`${what} is not JSON-serialisable`);
      return json;
    },
    catch: (cause) => storeError("Invalid", cause instanceof Error ? cause.message : String(cause), { cause }),
  });

/** Identifies a request's events, so that a reused idempotency key with other events is caught. */
export const fingerprint = (events: ReadonlyArray<EncodedEvent>): string => {
  const hash = createHash("sha256");
  for (const e of events) hash.update(e.json).update("\n");
  return hash.digest("hex");
};

export const decodeJson = (what: string, text: string): Effect.Effect<unknown, StoreError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (cause) => storeError("Corrupt", `${what} is not valid JSON`, { cause }),
  });
