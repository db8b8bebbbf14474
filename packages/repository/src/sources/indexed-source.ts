// A ModelSource over any store that serves the indexed layout (http-layout.ts): index.json
// plus the models' files at their paths. HTTP(S) and S3 differ only in how a path is fetched.
import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import { Either, ParseResult } from "effect";
import { modelGroup, parseModelConfig, type ModelConfig } from "../config-pbtxt.js";
import { RepositoryError, selectVersions } from "../local-directory.js";
import { decodeHttpRepositoryIndex, HTTP_INDEX_FILE, type HttpRepositoryIndex } from "./http-layout.js";
import { fileVersion, filesForVersions, isSafeRelativePath, type ModelSource, type ModelSourceKind } from "./model-source.js";

export interface LayoutTransport {
  readonly kind: ModelSourceKind;
  /** For messages; carries no credentials. */
  readonly location: string;
  /** GETs a '/'-separated path relative to the repository root; rejects with RepositoryError. */
  get(path: string, model: string): Promise<Response>;
}

/** A fetch answer as the body, or a RepositoryError that says what was asked and what came back. */
export async function okOrRepositoryError(fetching: Promise<Response>, what: string, model: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetching;
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new RepositoryError({ reason: "Io", model, message: `GET ${what}: ${cause}` });
  }
  if (res.ok) return res;
  const body = await res.text().catch(() => "");
  const s3Code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
  const hint = res.status === 401 || res.status === 403 ? " (check the repository's credentials or auth header)" : "";
  throw new RepositoryError({ reason: "Io", model, message: `GET ${what}: HTTP ${res.status}${s3Code === undefined ? "" : ` ${s3Code}`}${hint}` });
}

export function indexedModelSource(transport: LayoutTransport): ModelSource {
  const { location } = transport;
  const index = async (model: string): Promise<HttpRepositoryIndex> => {
    const res = await transport.get(HTTP_INDEX_FILE, model);
    const decoded = decodeHttpRepositoryIndex(await res.json().catch(() => undefined));
    if (Either.isLeft(decoded)) {
      throw new RepositoryError({ reason: "Io", model, message: `${location}/${HTTP_INDEX_FILE} is not a repository index: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}` });
    }
    return decoded.right;
  };
  const entry = async (name: string) => {
    const found = (await index(name)).models.find((m) => m.name === name);
    if (found === undefined) {
      throw new RepositoryError({ reason: "ModelNotFound", model: name, message: `model '${name}' is not in ${location}/${HTTP_INDEX_FILE}` });
    }
    return found;
  };
  return {
    kind: transport.kind,
    location,
    async listModels() {
      return (await index("")).models.map((m) => m.name).sort();
    },
    async statModel(name) {
      const { files } = await entry(name);
      const text = await (await transport.get(`${name}/config.pbtxt`, name)).text();
      let config: ModelConfig;
      try {
        config = parseModelConfig(text, name);
      } catch (e) {
        throw new RepositoryError({ reason: "ConfigInvalid", model: name, message: `model '${name}': ${(e as Error).message}` });
      }
      const present = [...new Set(files.map((f) => fileVersion(f.path)).filter((v): v is number => v !== undefined))];
      const versions = selectVersions(config.versionPolicy, present);
      if (versions.length === 0) {
        throw new RepositoryError({ reason: "NoVersions", model: name, message: `model '${name}' has no version directory the version policy selects` });
      }
      const sizeBytes = filesForVersions(files, versions).filter((f) => fileVersion(f.path) !== undefined).reduce((n, f) => n + f.size, 0);
      return { name, config, group: modelGroup(config), versions, sizeBytes };
    },
    async listFiles(name) {
      const { files } = await entry(name);
      const unsafe = files.find((f) => !isSafeRelativePath(f.path));
      if (unsafe !== undefined) {
        throw new RepositoryError({ reason: "Io", model: name, message: `model '${name}': ${location}/${HTTP_INDEX_FILE} lists an unsafe path '${unsafe.path}'` });
      }
      return [...files];
    },
    async readFile(name, path) {
      const res = await transport.get(`${name}/${path}`, name);
      if (res.body === null) return Readable.from([]);
      return Readable.fromWeb(res.body as ReadableStream<Uint8Array>);
    },
  };
}
