// A repository that is a directory on this machine (F's reader, behind ModelSource).
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { modelGroup } from "../config-pbtxt.js";
import { listLocalModels, readLocalModel, RepositoryError } from "../local-directory.js";
import { manifestOfDirectory } from "./file-manifest.js";
import { isSafeRelativePath, type ModelSource } from "./model-source.js";

const ioError = (model: string, e: unknown): RepositoryError =>
  e instanceof RepositoryError ? e : new RepositoryError({ reason: "Io", model, message: `model '${model}': ${(e as Error).message}` });

export function localModelSource(directory: string): ModelSource {
  const modelDir = async (name: string): Promise<string> => (await readLocalModel(directory, name)).directory;
  return {
    kind: "local",
    location: directory,
    listModels: () => listLocalModels(directory),
    async statModel(name) {
      const local = await readLocalModel(directory, name);
      return {
        name,
        config: local.config,
        group: modelGroup(local.config),
        versions: local.versions.map((v) => v.version),
        sizeBytes: local.versions.reduce((n, v) => n + v.sizeBytes, 0),
      };
    },
    async listFiles(name) {
      const dir = await modelDir(name);
      return manifestOfDirectory(dir).catch((e: unknown) => Promise.reject(ioError(name, e)));
    },
    async readFile(name, path) {
      if (!isSafeRelativePath(path)) throw new RepositoryError({ reason: "Io", model: name, message: `model '${name}': unsafe file path '${path}'` });
      return createReadStream(join(await modelDir(name), ...path.split("/")));
    },
  };
}
