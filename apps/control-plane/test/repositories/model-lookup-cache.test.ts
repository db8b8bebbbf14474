// A lease create looks its models up in the repository; a model found is taken as there for
// MODEL_FOUND_TTL, a model not found is looked up again on the next call.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duration, Effect, Either, Layer, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { writeDemoRepository } from "@berth/repository";
import { BerthdConfig } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load.js";
import { MODEL_FOUND_TTL, Repositories } from "../../src/repositories/repositories.js";

const withRepositories = <A, E>(dir: string, body: Effect.Effect<A, E, Repositories>) =>
  Effect.gen(function* () {
    const config = yield* loadConfig({ inline: { stateDir: dir, repositories: { models: { dir: join(dir, "repo") } } }, env: {}, cwd: dir });
    return yield* body.pipe(Effect.provide(Repositories.layer.pipe(Layer.provide(BerthdConfig.layer(config)))));
  }).pipe(Effect.provide(TestContext.TestContext));

describe("model lookups", () => {
  it("remember a model found for MODEL_FOUND_TTL, and never a model not found", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-lookup-"));
    try {
      await writeDemoRepository(join(dir, "repo"), { models: ["simple"] });
      const ref = (name: string) => ({ repository: "models", name });
      await Effect.runPromise(
        withRepositories(
          dir,
          Effect.gen(function* () {
            const repositories = yield* Repositories;
            const facts = (name: string) => Effect.either(repositories.facts(ref(name)));
            expect(Either.isRight(yield* facts("simple"))).toBe(true);
            expect(Either.getLeft(yield* facts("mlp_fp32")).pipe((e) => e._tag === "Some" && e.value.reason)).toBe("ModelNotFound");

            // Removed: still found within the TTL, not found after it.
            rmSync(join(dir, "repo", "simple"), { recursive: true });
            expect(Either.isRight(yield* facts("simple"))).toBe(true);
            yield* TestClock.adjust(Duration.sum(MODEL_FOUND_TTL, Duration.millis(1)));
            expect(Either.getLeft(yield* facts("simple")).pipe((e) => e._tag === "Some" && e.value.reason)).toBe("ModelNotFound");

            // Added: found at once (the failed lookup was not remembered).
            yield* Effect.promise(() => writeDemoRepository(join(dir, "repo"), { models: ["mlp_fp32"] }));
            expect(Either.isRight(yield* facts("mlp_fp32"))).toBe(true);
          }),
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
