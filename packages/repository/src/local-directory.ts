// A model repository on the local file system, in Triton's layout:
//   <dir>/<model>/config.pbtxt
//   <dir>/<model>/<version>/<default_model_filename>
// Reads what a server or sidecar needs before loading: which models exist, their config,
// which versions the version policy selects, where the files are and how big they are.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Data } from "effect";
import type { Bytes } from "@berth/core/units";
import { parseModelConfig, type ModelConfig, type VersionPolicy } from "./config-pbtxt.js";

export class RepositoryError extends Data.TaggedError("RepositoryError")<{
  readonly reason: "ModelNotFound" | "ConfigInvalid" | "NoVersions" | "Io";
  readonly model: string;
  readonly message: string;
}> {}

export interface ModelVersionFiles {
  readonly version: number;
  readonly directory: string;
  /** The file the backend loads (`default_model_filename` inside the version directory). */
  readonly modelFile: string;
  /** Total size of every file under the version directory. */
  readonly sizeBytes: Bytes;
}

export interface LocalModel {
  readonly name: string;
  readonly directory: string;
  readonly config: ModelConfig;
  /** The versions the config's version policy selects, newest first. */
  readonly versions: readonly ModelVersionFiles[];
}

const CONFIG_FILE = "config.pbtxt";

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** Model names in a repository directory: its subdirectories that hold a config.pbtxt, sorted. */
export async function listLocalModels(repositoryDir: string): Promise<string[]> {
  const entries = await readdir(repositoryDir, { withFileTypes: true });
  const names: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    if (await stat(join(repositoryDir, e.name, CONFIG_FILE)).then(() => true, () => false)) names.push(e.name);
  }
  return names.sort();
}

async function directorySize(path: string): Promise<Bytes> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const e of await readdir(path)) total += await directorySize(join(path, e));
  return total;
}

/** Applies a version policy to the versions present (any order in, newest first out). */
export function selectVersions(policy: VersionPolicy, present: readonly number[]): number[] {
  const newestFirst = [...present].sort((a, b) => b - a);
  switch (policy.kind) {
    case "latest":
      return newestFirst.slice(0, Math.max(policy.numVersions, 0));
    case "all":
      return newestFirst;
    case "specific":
      return newestFirst.filter((v) => policy.versions.includes(v));
  }
}

/** Reads one model: its config and the files of the versions its policy selects. */
export async function readLocalModel(repositoryDir: string, name: string): Promise<LocalModel> {
  const directory = join(repositoryDir, name);
  if (name.includes("/") || name.includes("\\") || name.startsWith(".") || !(await isDirectory(directory))) {
    throw new RepositoryError({ reason: "ModelNotFound", model: name, message: `failed to poll from model repository: model '${name}' is not found` });
  }
  let source: string;
  try {
    source = await readFile(join(directory, CONFIG_FILE), "utf8");
  } catch (e) {
    throw new RepositoryError({ reason: "ConfigInvalid", model: name, message: `model '${name}' has no readable ${CONFIG_FILE}: ${(e as Error).message}` });
  }
  let config: ModelConfig;
  try {
    config = parseModelConfig(source, name);
  } catch (e) {
    throw new RepositoryError({ reason: "ConfigInvalid", model: name, message: `model '${name}': ${(e as Error).message}` });
  }
  const present: number[] = [];
  for (const e of await readdir(directory, { withFileTypes: true })) {
    if (e.isDirectory() && /^\d+$/.test(e.name)) present.push(Number(e.name));
  }
  const selected = selectVersions(config.versionPolicy, present);
  if (selected.length === 0) {
    throw new RepositoryError({ reason: "NoVersions", model: name, message: `model '${name}' has no version directory the version policy selects` });
  }
  const versions: ModelVersionFiles[] = [];
  for (const version of selected) {
    const versionDir = join(directory, String(version));
    versions.push({
      version,
      directory: versionDir,
      modelFile: join(versionDir, config.defaultModelFilename),
      sizeBytes: await directorySize(versionDir),
    });
  }
  return { name, directory, config, versions };
}
