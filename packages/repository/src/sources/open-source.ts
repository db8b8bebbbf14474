// Repositories as operators name them on command lines: `name=DIR` or `name=URL`.
import { resolve } from "node:path";
import { httpModelSource, parseHeaderLine } from "./http-source.js";
import { localModelSource } from "./local-source.js";
import type { ModelSource } from "./model-source.js";
import { s3ModelSource, s3OptionsFromEnv } from "./s3/s3-source.js";

export interface RepositorySpec {
  readonly name: string;
  /** A directory, or an http:// or https:// base URL. */
  readonly location: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** "demo=/srv/models" or "hub=https://models.example/repo" -> {name, location}. */
export function parseRepositorySpec(text: string): RepositorySpec {
  const eq = text.indexOf("=");
  const name = eq === -1 ? "" : text.slice(0, eq);
  const location = text.slice(eq + 1);
  if (!NAME.test(name) || location === "") throw new Error(`a repository is NAME=DIR or NAME=URL, got '${text}'`);
  return { name, location };
}

/** The environment variable holding a repository's auth header ("Authorization: Bearer …"). */
export function repositoryAuthEnvVar(name: string): string {
  return `BERTH_REPOSITORY_AUTH_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/**
 * A source for a spec. HTTP(S) sources take their header from `authHeader` (a "Name: value"
 * line); s3://bucket/prefix sources take endpoint, region and credentials from `env` (AWS_*).
 */
export function openModelSource(spec: RepositorySpec, authHeader?: string, env: Readonly<Record<string, string | undefined>> = {}): ModelSource {
  if (spec.location.startsWith("s3://")) return s3ModelSource(spec.location, s3OptionsFromEnv(env));
  if (/^https?:\/\//i.test(spec.location)) {
    return httpModelSource(spec.location, authHeader === undefined || authHeader === "" ? {} : { headers: parseHeaderLine(authHeader) });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec.location)) {
    throw new Error(`repository '${spec.name}': unsupported location '${spec.location}' (a directory, an http(s) URL or s3://bucket/prefix)`);
  }
  return localModelSource(resolve(spec.location));
}
