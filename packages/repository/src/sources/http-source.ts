// A repository served over HTTP(S) in the layout http-layout.ts describes.
import { indexedModelSource, okOrRepositoryError } from "./indexed-source.js";
import type { ModelSource } from "./model-source.js";

export interface HttpSourceOptions {
  /** Sent with every request, e.g. {authorization: "Bearer …"}. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** "Authorization: Bearer x" -> {authorization: "Bearer x"} (the form operators write in env vars). */
export function parseHeaderLine(line: string): Record<string, string> {
  const colon = line.indexOf(":");
  if (colon <= 0) throw new Error(`a header is 'Name: value', got '${line.slice(0, 20)}…'`);
  return { [line.slice(0, colon).trim().toLowerCase()]: line.slice(colon + 1).trim() };
}

export function httpModelSource(baseUrl: string, options: HttpSourceOptions = {}): ModelSource {
  const base = baseUrl.replace(/\/+$/, "");
  const shown = new URL(base);
  shown.username = "";
  shown.password = "";
  const headers = options.headers ?? {};
  return indexedModelSource({
    kind: "http",
    location: shown.toString().replace(/\/+$/, ""),
    get(path, model) {
      const url = `${base}/${path.split("/").map(encodeURIComponent).join("/")}`;
      return okOrRepositoryError(fetch(url, { headers }), url, model);
    },
  });
}
