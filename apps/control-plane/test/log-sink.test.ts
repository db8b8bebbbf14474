import { Effect, Logger } from "effect";
import { describe, expect, it } from "vitest";
import { batchedLines, jsonLinesLogger } from "../src/log-sink.js";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("batchedLines", () => {
  it("writes the lines of one turn in one chunk, in order, after the turn", async () => {
    const chunks: string[] = [];
    const sink = batchedLines((c) => chunks.push(c));
    sink.write("a");
    sink.write("b");
    expect(chunks).toEqual([]);
    await nextTurn();
    expect(chunks).toEqual(["a\nb\n"]);
    sink.write("c");
    await nextTurn();
    expect(chunks).toEqual(["a\nb\n", "c\n"]);
  });

  it("writes at once when too much is held, and on flush", () => {
    const chunks: string[] = [];
    const sink = batchedLines((c) => chunks.push(c), 10);
    sink.write("12345");
    expect(chunks).toEqual([]);
    sink.write("67890");
    expect(chunks).toEqual(["12345\n67890\n"]);
    sink.write("x");
    sink.flush();
    sink.flush();
    expect(chunks).toEqual(["12345\n67890\n", "x\n"]);
  });

  it("carries Effect's JSON log lines with their annotations", async () => {
    const chunks: string[] = [];
    const sink = batchedLines((c) => chunks.push(c));
    await Effect.runPromise(
      Effect.logInfo("lease created").pipe(Effect.annotateLogs({ lease: "l-1" }), Effect.provide(Logger.replace(Logger.defaultLogger, jsonLinesLogger(sink)))),
    );
    sink.flush();
    const line = JSON.parse(chunks.join("").trim()) as { message: string; logLevel: string; annotations: Record<string, unknown> };
    expect(line).toMatchObject({ message: "lease created", logLevel: "INFO", annotations: { lease: "l-1" } });
  });
});
