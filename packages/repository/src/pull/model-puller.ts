// Pulls models from their repositories into a local cache, as `{cache}/{repository}/{model}`
// in Triton's layout. A pull downloads into a temporary directory inside the cache (same file
// system), checks the size and SHA-256 of every file against the repository's listing, and
// only then renames the directory into place, so a server never sees half a model and a
// corrupt download leaves nothing behind. Concurrent pulls of one model share one download.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { RepositoryError } from "../local-directory.js";
import { filesForVersions, type ModelFileEntry, type ModelSource, type ModelSummary } from "../sources/model-source.js";
import { PullError } from "./pull-error.js";

/** Written into each pulled model's directory: what was pulled, to reuse it when it has not changed. */
export const PULL_RECORD_FILE = ".berth-pull.json";
const TEMP_DIR = ".tmp";

export interface PullRequest {
  /** The repository's configured name (the cache's first path level). */
  readonly repository: string;
  readonly source: ModelSource;
  readonly model: string;
  /** A version to fetch besides those the version policy selects (0 or absent: none). */
  readonly version?: number;
}

export interface PullResult {
  readonly directory: string;
  readonly summary: ModelSummary;
  readonly files: readonly ModelFileEntry[];
  readonly bytes: number;
  /** True when the cache already held exactly these files and nothing was downloaded. */
  readonly fromCache: boolean;
}

interface PullRecord {
  readonly repository: string;
  readonly model: string;
  readonly location: string;
  readonly files: readonly ModelFileEntry[];
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const sameFiles = (a: readonly ModelFileEntry[], b: readonly ModelFileEntry[]): boolean =>
  a.length === b.length && a.every((f, i) => f.path === b[i].path && f.sha256 === b[i].sha256 && f.size === b[i].size);

export class ModelPuller {
  private readonly inflight = new Map<string, Promise<PullResult>>();

  constructor(readonly cacheDir: string) {}

  /** Where a model lives once pulled. */
  modelDirectory(repository: string, model: string): string {
    return join(this.cacheDir, repository, model);
  }

  /** Pulls a model (or finds it current in the cache); rejects with PullError. */
  pull(request: PullRequest): Promise<PullResult> {
    const key = `${request.repository}/${request.model}/${request.version ?? 0}`;
    const running = this.inflight.get(key);
    if (running !== undefined) return running;
    const started = this.pullOnce(request).finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }

  private async pullOnce({ repository, source, model, version }: PullRequest): Promise<PullResult> {
    const fail = (reason: PullError["reason"], message: string, file?: string) =>
      new PullError({ reason, repository, model, message, ...(file === undefined ? {} : { file }) });
    if (!NAME.test(repository) || !NAME.test(model)) throw fail("Source", `invalid repository or model name '${repository}/${model}'`);

    let summary: ModelSummary;
    let files: ModelFileEntry[];
    try {
      summary = await source.statModel(model);
      const versions = version !== undefined && version > 0 ? [...summary.versions, version] : summary.versions;
      files = filesForVersions(await source.listFiles(model), versions);
    } catch (e) {
      throw fail("Source", e instanceof RepositoryError ? e.message : `${source.location}: ${(e as Error).message}`);
    }
    if (version !== undefined && version > 0 && !files.some((f) => f.path.startsWith(`${version}/`))) {
      throw fail("Source", `model '${model}' has no version ${version} in ${source.location}`);
    }
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const target = this.modelDirectory(repository, model);

    const current = await readFile(join(target, PULL_RECORD_FILE), "utf8").then((t) => JSON.parse(t) as PullRecord, () => undefined);
    if (current !== undefined && current.location === source.location && sameFiles(current.files, files)) {
      return { directory: target, summary, files, bytes, fromCache: true };
    }

    const tempRoot = join(this.cacheDir, TEMP_DIR);
    await mkdir(tempRoot, { recursive: true });
    const temp = await mkdtemp(join(tempRoot, `${repository}.${model}.`));
    try {
      for (const file of files) await this.download(source, model, file, temp, fail);
      const record: PullRecord = { repository, model, location: source.location, files };
      await writeFile(join(temp, PULL_RECORD_FILE), JSON.stringify(record));
      await mkdir(dirname(target), { recursive: true });
      // A directory cannot be renamed over a non-empty one: move the stale copy aside first.
      const stale = await stat(target).then(() => join(tempRoot, `stale.${repository}.${model}.${process.pid}.${Date.now()}`), () => undefined);
      if (stale !== undefined) await rename(target, stale);
      await rename(temp, target);
      if (stale !== undefined) await rm(stale, { recursive: true, force: true });
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      if (e instanceof PullError) throw e;
      throw fail("Io", `pulling '${model}' into ${target}: ${(e as Error).message}`);
    }
    return { directory: target, summary, files, bytes, fromCache: false };
  }

  private async download(
    source: ModelSource,
    model: string,
    file: ModelFileEntry,
    into: string,
    fail: (reason: PullError["reason"], message: string, file?: string) => PullError,
  ): Promise<void> {
    const path = join(into, ...file.path.split("/"));
    await mkdir(dirname(path), { recursive: true });
    const hash = createHash("sha256");
    let size = 0;
    const out = await open(path, "wx");
    try {
      let content: AsyncIterable<Uint8Array>;
      try {
        content = await source.readFile(model, file.path);
      } catch (e) {
        throw fail("Source", e instanceof RepositoryError ? e.message : (e as Error).message, file.path);
      }
      for await (const chunk of content) {
        hash.update(chunk);
        size += chunk.length;
        await out.write(chunk);
      }
    } finally {
      await out.close();
    }
    if (size !== file.size) {
      throw fail("SizeMismatch", `model '${model}' file '${file.path}' from ${source.location}: expected ${file.size} bytes, got ${size}; the download was discarded`, file.path);
    }
    const sha256 = hash.digest("hex");
    if (sha256 !== file.sha256) {
      throw fail("ChecksumMismatch", `model '${model}' file '${file.path}' from ${source.location}: sha256 ${sha256} does not match the listed ${file.sha256}; the download was discarded`, file.path);
    }
  }
}
