import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "@effect/vitest";
import { Context, Effect, Either, Layer } from "effect";
import { Store } from "../../src/store/index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berth-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const headOf = (path: string) => Effect.flatMap(Store, (s) => s.headSeq).pipe(Effect.provide(Store.layerSqlite({ path, busyTimeoutMs: 100 })));

describe("Store.layerSqlite: one berthd per file", () => {
  it.effect("a second open in the same process is refused until the first closes", () =>
    Effect.gen(function* () {
      const path = join(dir, "same-process.db");
      yield* Effect.scoped(
        Effect.gen(function* () {
          const first = Context.get(yield* Layer.build(Store.layerSqlite({ path })), Store);
          yield* first.append([{ type: "E", at: 1 }]);
          const second = yield* Effect.either(headOf(path));
          expect(Either.isLeft(second) && second.left.reason).toBe("Unavailable");
          expect(Either.isLeft(second) && second.left.message).toMatch(/in use by another berthd \(held by .*, pid \d+, since/);
        }),
      );
      expect(yield* headOf(path)).toBe(1);
    }),
  );

  it.live("another process is refused while a berthd holds the file, and not after it is killed", () =>
    Effect.gen(function* () {
      const path = join(dir, "other-process.db");
      const holder = spawn(process.execPath, ["--import", "tsx", join(here, "crash-child.ts"), "sqlite", path, "1", "7"], {
        cwd: resolve(here, "../../../.."),
        stdio: ["ignore", "pipe", "inherit"],
      });
      yield* Effect.promise(
        () => new Promise<void>((ready) => holder.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && ready())),
      );
      const refused = yield* Effect.either(headOf(path));
      expect(Either.isLeft(refused) && refused.left.reason).toBe("Unavailable");
      expect(Either.isLeft(refused) && refused.left.message).toContain(`pid ${holder.pid}`);
      // kill -9 leaves no stale lock: the kernel drops it with the process.
      yield* Effect.promise(() => new Promise((gone) => (holder.once("close", gone), holder.kill("SIGKILL"))));
      expect(yield* headOf(path)).toBeGreaterThan(0);
    }),
  );

  it.effect("each open is a new epoch, recorded on the events it writes", () =>
    Effect.gen(function* () {
      const path = join(dir, "epochs.db");
      const appendOnce = (at: number) =>
        Effect.flatMap(Store, (s) => Effect.zipRight(s.append([{ type: "E", at }]), s.leadership.awaitLeader)).pipe(Effect.provide(Store.layerSqlite({ path })));
      const first = yield* appendOnce(1);
      const second = yield* appendOnce(2);
      expect(second).toBe(first + 1);
      const events = yield* Effect.flatMap(Store, (s) => s.readFrom(1)).pipe(Effect.provide(Store.layerSqlite({ path })));
      expect(events.map((e) => e.epoch)).toEqual([first, second]);
    }),
  );

  it.effect("a file that is not a database is reported as corrupt", () =>
    Effect.gen(function* () {
      const path = join(dir, "not-a-db.db");
      writeFileSync(path, "this is not SQLite ".repeat(300));
      const opened = yield* Effect.either(headOf(path));
      expect(Either.isLeft(opened) && opened.left.reason).toBe("Corrupt");
    }),
  );
});
