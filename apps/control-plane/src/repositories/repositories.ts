import { existsSync } from "node:fs";
import { Cache, Context, Data, Duration, Effect, Exit, Layer } from "effect";
import type { ModelFacts, ModelRef } from "@berth/core";
import { openModelSource, writeDemoRepository, type ModelSource, type ModelSummary } from "@berth/repository";
import { BerthdConfig } from "../config/config.js";
import { logInfo } from "../log.js";

/** A repository or model lookup failed: NotFound (unknown repository or model) or Unavailable (I/O, HTTP). */
export class RepositoryLookupError extends Data.TaggedError("RepositoryLookupError")<{
  readonly reason: "RepositoryNotFound" | "ModelNotFound" | "Unavailable";
  readonly message: string;
  readonly repository: string;
  readonly model?: string;
}> {}

export interface ModelEntry {
  readonly repository: string;
  readonly summary: ModelSummary;
}

export interface RepositoriesShape {
  readonly names: readonly string[];
  /** Every model of one repository (or of all of them), with platform, group, versions and size. */
  readonly list: (repository?: string) => Effect.Effect<readonly ModelEntry[], RepositoryLookupError>;
  /** What placement needs to know of a model; fails when the repository or the model does not exist. */
  readonly facts: (ref: ModelRef) => Effect.Effect<ModelFacts, RepositoryLookupError>;
}

const errorReason = (error: unknown): string | undefined =>
  error !== null && typeof error === "object" && "reason" in error ? String((error as { reason: unknown }).reason) : undefined;

/**
 * How long a model found in a repository is taken as there without looking again. A lease
 * create reads the model's directory (config, versions, the size of every file): under load
 * that was a fifth of berthd's time, for the same few models over and over. A model removed
 * within this time still admits a lease, which then fails at its sidecar's pull, naming it.
 * Lookups that fail are not remembered: a model that appears is seen at once.
 */
export const MODEL_FOUND_TTL = Duration.seconds(2);
const CACHED_MODELS = 4_096;

export const makeRepositories = Effect.gen(function* () {
  const config = yield* BerthdConfig;
  if (config.demoRepositoryDir !== undefined && !existsSync(config.demoRepositoryDir)) {
    const written = yield* Effect.promise(() => writeDemoRepository(config.demoRepositoryDir!));
    yield* logInfo("demo repository generated", { dir: config.demoRepositoryDir, models: written });
  }
  const sources = new Map<string, ModelSource>(
    config.repositories.map((r) => [r.name, openModelSource({ name: r.name, location: r.kind === "dir" ? r.dir : r.url }, r.kind === "http" ? r.authHeader : undefined)]),
  );
  const source = (repository: string) => {
    const found = sources.get(repository);
    return found !== undefined
      ? Effect.succeed(found)
      : Effect.fail(new RepositoryLookupError({ reason: "RepositoryNotFound", repository, message: `repository "${repository}" is not configured (have: ${[...sources.keys()].join(", ")})` }));
  };
  const stat = (repository: string, name: string) =>
    Effect.flatMap(source(repository), (src) =>
      Effect.tryPromise({
        try: () => src.statModel(name),
        catch: (error) =>
          errorReason(error) === "ModelNotFound"
            ? new RepositoryLookupError({ reason: "ModelNotFound", repository, model: name, message: `model "${name}" is not in repository "${repository}"` })
            : new RepositoryLookupError({ reason: "Unavailable", repository, model: name, message: `repository "${repository}", model "${name}": ${error instanceof Error ? error.message : String(error)}` }),
      }),
    );
  // Keyed by repository and model name, as a JSON pair (names may hold any character).
  const found = yield* Cache.makeWith({
    capacity: CACHED_MODELS,
    lookup: (key: string) => {
      const [repository, name] = JSON.parse(key) as [string, string];
      return stat(repository, name);
    },
    timeToLive: (exit) => (Exit.isSuccess(exit) ? MODEL_FOUND_TTL : Duration.zero),
  });
  const statCached = (repository: string, name: string) => found.get(JSON.stringify([repository, name]));
  const repositories: RepositoriesShape = {
    names: [...sources.keys()],
    list: (repository) =>
      Effect.gen(function* () {
        const names = repository === undefined || repository === "" ? [...sources.keys()] : [(yield* source(repository)) && repository];
        const out: ModelEntry[] = [];
        for (const name of names) {
          const src = yield* source(name);
          const models = yield* Effect.tryPromise({
            try: () => src.listModels(),
            catch: (error) => new RepositoryLookupError({ reason: "Unavailable", repository: name, message: `repository "${name}": ${String(error)}` }),
          });
          for (const model of models) {
            const summary = yield* stat(name, model).pipe(Effect.option);
            if (summary._tag === "Some") out.push({ repository: name, summary: summary.value });
          }
        }
        return out;
      }),
    facts: (ref) =>
      Effect.flatMap(statCached(ref.repository, ref.name), (summary) =>
        ref.version === undefined || summary.versions.includes(ref.version)
          ? Effect.succeed(summary)
          : Effect.fail(
              new RepositoryLookupError({
                reason: "ModelNotFound",
                repository: ref.repository,
                model: ref.name,
                message: `model "${ref.name}" in repository "${ref.repository}" has no version ${ref.version} (has ${summary.versions.join(", ") || "none"})`,
              }),
            ),
      ).pipe(Effect.map((summary) => ({
        model: ref,
        platform: summary.config.platform !== "" ? summary.config.platform : summary.config.backend,
        group: summary.group,
        size: summary.sizeBytes,
      }))),
  };
  return repositories;
});

export class Repositories extends Context.Tag("@berth/control-plane/Repositories")<Repositories, RepositoriesShape>() {
  static readonly layer: Layer.Layer<Repositories, never, BerthdConfig> = Layer.effect(Repositories, makeRepositories);
}
