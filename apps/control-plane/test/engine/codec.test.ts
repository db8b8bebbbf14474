import type { Event } from "@berth/core";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { decodeEvent, encodeEvent } from "../../src/engine/codec.js";
import { encodeEvents } from "../../src/store/encode.js";

// Events are serialised once, by the codec; the store writes that text. It must be the text the
// store's own encoding of the plain event wrote before (stored logs are read back across versions).
describe("event codec", () => {
  const events: Event[] = [
    { _tag: "LeaseReleased", at: 1_700_000_000_123, name: "web" } as Event,
    { _tag: "Tick", at: 5 } as Event,
    // Infinity travels as a tagged string; a nested one too.
    { _tag: "LeaseRenewed", at: 7, name: "x", extendBy: Infinity, extra: { deep: [-Infinity, 1.5, "é"] } } as unknown as Event,
  ];

  it("writes what encoding the plain event would, and reads back the event", async () => {
    const encoded = await Effect.runPromise(encodeEvents(events.map(encodeEvent)));
    const replace = (_k: string, v: unknown) => (v === Infinity ? "__berth:+Infinity" : v === -Infinity ? "__berth:-Infinity" : v);
    encoded.forEach((e, i) => {
      const plain = { type: events[i]!._tag, at: events[i]!.at, event: JSON.parse(JSON.stringify(events[i], replace)) as unknown };
      expect(e.json).toBe(JSON.stringify(plain));
      expect(decodeEvent({ seq: i + 1, type: e.type, at: e.at, event: JSON.parse(e.json) } as never)).toEqual(events[i]);
    });
  });
});
