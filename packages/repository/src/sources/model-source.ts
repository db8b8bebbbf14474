// A repository the operator configured, seen the same way whatever holds it (a local
// directory, an HTTP(S) server, later S3): which models it has, what a model is (for the
// control plane's existence and platform checks), and its files with checksums (for pulls).
import type { Bytes } from "@berth/core/units";
import type { ModelConfig } from "../config-pbtxt.js";

/** One file of a model, relative to the model's directory, '/'-separated ("1/model.onnx"). */
export interface ModelFileEntry {
  readonly path: string;
  readonly size: Bytes;
  /** Lowercase hex SHA-256 of the content. */
  readonly sha256: string;
}

/** What the control plane needs to know before placing a model. */
export interface ModelSummary {
  readonly name: string;
  readonly config: ModelConfig;
  /** The server group its platform/backend decides (`modelGroup`). */
  readonly group: string;
  /** The versions the config's version policy selects, newest first. */
  readonly versions: readonly number[];
  /** Bytes of the selected versions' files (the part a server loads). */
  readonly sizeBytes: Bytes;
}

export type ModelSourceKind = "local" | "http" | "s3";

export interface ModelSource {
  readonly kind: ModelSourceKind;
  /** Directory or base URL, for messages (never carries credentials). */
  readonly location: string;
  /** Model names, sorted. */
  listModels(): Promise<string[]>;
  /** Rejects with RepositoryError (ModelNotFound, ConfigInvalid, NoVersions, Io). */
  statModel(name: string): Promise<ModelSummary>;
  /** Every file of the model with its size and SHA-256. */
  listFiles(name: string): Promise<ModelFileEntry[]>;
  /** The content of one file listed by listFiles. */
  readFile(name: string, path: string): Promise<AsyncIterable<Uint8Array>>;
}

const VERSION_DIR = /^(\d+)\//;

/** The numeric version a file belongs to, or undefined for files at the model's top level. */
export function fileVersion(path: string): number | undefined {
  const m = VERSION_DIR.exec(path);
  return m === null ? undefined : Number(m[1]);
}

/** The files a server needs for the given versions: top-level files plus those versions' directories. */
export function filesForVersions(files: readonly ModelFileEntry[], versions: readonly number[]): ModelFileEntry[] {
  return files.filter((f) => {
    const v = fileVersion(f.path);
    return v === undefined || versions.includes(v);
  });
}

/** A file path from a listing is safe to join under a directory: relative, no '..', no empty parts. */
export function isSafeRelativePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.includes("\\")) return false;
  return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}
