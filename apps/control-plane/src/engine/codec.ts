import type { Event, Snapshot } from "@berth/core";
import { EncodedJson } from "../store/encode.js";
import type { StoreEvent, StoredEvent } from "../store/types.js";

// The store keeps JSON. decide's snapshot and events are plain data, but a few numbers may be
// infinite (a lease warm "until evicted"), which JSON would turn into null; they travel as
// tagged strings instead.

const POSITIVE = "__berth:+Infinity";
const NEGATIVE = "__berth:-Infinity";

const replace = (_key: string, value: unknown): unknown =>
  value === Infinity ? POSITIVE : value === -Infinity ? NEGATIVE : value;
const revive = (_key: string, value: unknown): unknown => (value === POSITIVE ? Infinity : value === NEGATIVE ? -Infinity : value);

/** What was stored (infinities tagged) back to the value. */
export const fromJson = <A>(value: unknown): A => JSON.parse(JSON.stringify(value), revive) as A;

/** How a core event is stored: its tag as the store's `type`, the event itself under `event`. */
export interface StoredCoreEvent extends StoreEvent {
  readonly event: unknown;
}

/** Serialised here, once (the store writes the text as it is): events are the hot path of every commit. */
export const encodeEvent = (event: Event): StoredCoreEvent => ({ type: event._tag, at: event.at, event: new EncodedJson(JSON.stringify(event, replace)) });

export const decodeEvent = (stored: StoredEvent): Event | undefined => {
  const inner = (stored.event as { readonly event?: unknown }).event;
  if (inner === null || typeof inner !== "object" || typeof (inner as { _tag?: unknown })._tag !== "string") return undefined;
  return fromJson<Event>(inner);
};

/** The snapshot as the store keeps it, serialised once (infinities tagged). */
export const encodeSnapshot = (snapshot: Snapshot): EncodedJson => new EncodedJson(JSON.stringify(snapshot, replace));
export const decodeSnapshot = (state: unknown): Snapshot => fromJson<Snapshot>(state);
