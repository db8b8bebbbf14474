// The HTTP(S) repository layout Berth reads. Any static file server can host it:
//
//   GET {base}/index.json                   the models and their files, with sizes and SHA-256
//   GET {base}/{model}/config.pbtxt         Triton's model config
//   GET {base}/{model}/{version}/{file}     the version's files (any file index.json lists,
//                                           at the path it lists, under {base}/{model}/)
//
// index.json:
//   {"models": [{"name": "simple",
//                "files": [{"path": "config.pbtxt", "size": 312, "sha256": "<64 hex>"},
//                          {"path": "1/model.onnx", "size": 190, "sha256": "<64 hex>"}]}]}
//
// Paths are relative to the model's directory and '/'-separated; each path segment is
// percent-encoded in URLs. The checksums are what pulls verify every downloaded file against.
// An optional header (e.g. `Authorization: Bearer …`) is sent with every request.
import { Schema } from "effect";
import type { ModelFileEntry } from "./model-source.js";

export const HTTP_INDEX_FILE = "index.json";

const FileEntry = Schema.Struct({
  path: Schema.String,
  size: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  sha256: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)),
});

export const HttpRepositoryIndex = Schema.Struct({
  models: Schema.Array(Schema.Struct({ name: Schema.String, files: Schema.Array(FileEntry) })),
});
export type HttpRepositoryIndex = typeof HttpRepositoryIndex.Type;

export const decodeHttpRepositoryIndex = Schema.decodeUnknownEither(HttpRepositoryIndex, { errors: "all" });

/** The URL of one model file under a base URL (which ends without '/'). */
export function modelFileUrl(base: string, model: string, path: string): string {
  return `${base}/${encodeURIComponent(model)}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

/** The index for a set of models, as serveRepositoryOverHttp and a static export write it. */
export function formatHttpRepositoryIndex(models: readonly { name: string; files: readonly ModelFileEntry[] }[]): string {
  return JSON.stringify({ models: models.map((m) => ({ name: m.name, files: m.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })) })) });
}
