// Serves a local repository directory in the HTTP layout (http-layout.ts) on 127.0.0.1: for
// tests and demos of HTTP repositories without a web server. The index is computed once at
// start (call reindex() after changing the directory), as a static export would be.
import { createReadStream } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { listLocalModels } from "../local-directory.js";
import { manifestOfDirectory } from "./file-manifest.js";
import { formatHttpRepositoryIndex, HTTP_INDEX_FILE } from "./http-layout.js";
import type { ModelFileEntry } from "./model-source.js";

export interface ServeOverHttpOptions {
  /** Answer 401 unless the request carries this header with this value. */
  readonly requireHeader?: { readonly name: string; readonly value: string };
  readonly host?: string;
}

export interface RepositoryHttpServer {
  /** Base URL, without a trailing '/'. */
  readonly url: string;
  /** Paths requested so far ("/index.json", "/simple/1/model.onnx"), in order. */
  readonly requests: readonly string[];
  reindex(): Promise<void>;
  close(): Promise<void>;
}

async function indexOf(dir: string): Promise<Map<string, ModelFileEntry[]>> {
  const models = new Map<string, ModelFileEntry[]>();
  for (const name of await listLocalModels(dir)) models.set(name, await manifestOfDirectory(join(dir, name)));
  return models;
}

export async function serveRepositoryOverHttp(dir: string, options: ServeOverHttpOptions = {}): Promise<RepositoryHttpServer> {
  let models = await indexOf(dir);
  let indexBody = "";
  const rebuild = () => {
    indexBody = formatHttpRepositoryIndex([...models].map(([name, files]) => ({ name, files })));
  };
  rebuild();
  const requests: string[] = [];
  const required = options.requireHeader;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    if (required !== undefined && req.headers[required.name.toLowerCase()] !== required.value) {
      res.writeHead(401).end();
      return;
    }
    if (req.method !== "GET") {
      res.writeHead(405).end();
      return;
    }
    if (path === `/${HTTP_INDEX_FILE}`) {
      res.writeHead(200, { "content-type": "application/json" }).end(indexBody);
      return;
    }
    const [model, ...rest] = path.slice(1).split("/").map(decodeURIComponent);
    const file = rest.join("/");
    // Only what the index lists, so nothing outside the repository can be asked for.
    const entry = models.get(model)?.find((f) => f.path === file);
    if (entry === undefined) {
      res.writeHead(404).end();
      return;
    }
    const stream = createReadStream(join(dir, model, ...rest));
    stream.on("error", () => res.destroy());
    stream.once("open", () => res.writeHead(200, { "content-type": "application/octet-stream" }));
    stream.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? "127.0.0.1", resolve));
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    requests,
    async reindex() {
      models = await indexOf(dir);
      rebuild();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
