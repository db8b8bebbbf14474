// KServe v2 HTTP/REST routes plus Triton's repository and statistics extensions, on node:http.
// Errors are KServe's JSON `{"error": "..."}` with the status the error's code maps to.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gunzip, inflate } from "node:zlib";
import { configJson } from "./config-json.js";
import { asServerError, httpStatusOf, invalidArgument, notFound } from "./errors.js";
import { encodeHttpInfer, INFERENCE_HEADER_CONTENT_LENGTH, parseHttpInfer } from "./http-infer.js";
import type { ModelService } from "./model-service.js";

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  switch (req.headers["content-encoding"]) {
    case undefined:
    case "identity":
      return body;
    case "gzip":
      return gunzipAsync(body);
    case "deflate":
      return inflateAsync(body);
    default:
      throw invalidArgument(`unsupported Content-Encoding '${req.headers["content-encoding"]}'`);
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), "utf8");
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": body.length });
  res.end(body);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { "Content-Length": 0 });
  res.end();
}

interface ModelPath {
  readonly model: string;
  readonly version?: string;
  /** What follows the model (and version): "", "ready", "config", "stats", "infer". */
  readonly action: string;
}

/** Parses /v2/models/{m}[/versions/{v}][/{action}]. */
function modelPath(segments: readonly string[]): ModelPath | undefined {
  if (segments.length < 3 || segments[0] !== "v2" || segments[1] !== "models") return undefined;
  const model = segments[2];
  let rest = segments.slice(3);
  let version: string | undefined;
  if (rest[0] === "versions" && rest.length >= 2) {
    version = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 1) return undefined;
  return { model, ...(version === undefined ? {} : { version }), action: rest[0] ?? "" };
}

async function route(service: ModelService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  let segments: string[];
  try {
    segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  } catch {
    throw invalidArgument(`malformed path ${url.pathname}`);
  }
  const method = req.method ?? "GET";
  const path = segments.join("/");

  if (method === "GET" && path === "v2/health/live") return sendEmpty(res, 200);
  if (method === "GET" && path === "v2/health/ready") return sendEmpty(res, service.serverReady() ? 200 : 400);
  if (method === "GET" && path === "v2") return sendJson(res, 200, service.serverMetadata());
  if (method === "GET" && path === "v2/models/stats") return sendJson(res, 200, { model_stats: service.statistics() });

  if (method === "POST" && path === "v2/repository/index") {
    const body = await readBody(req);
    const options = body.length === 0 ? {} : (JSON.parse(body.toString("utf8")) as { ready?: unknown });
    return sendJson(res, 200, await service.index(options.ready === true));
  }
  if (method === "POST" && segments.length === 5 && segments[0] === "v2" && segments[1] === "repository" && segments[2] === "models") {
    const [, , , model, action] = segments;
    await readBody(req); // parameters (e.g. a config override) are not supported and ignored
    if (action === "load") {
      await service.load(model);
      return sendEmpty(res, 200);
    }
    if (action === "unload") {
      await service.unload(model);
      return sendEmpty(res, 200);
    }
  }

  const m = modelPath(segments);
  if (m !== undefined) {
    if (method === "GET" && m.action === "") return sendJson(res, 200, service.modelMetadata(m.model, m.version));
    if (method === "GET" && m.action === "ready") {
      // Unknown model: 404 with a message; known but not ready: 400, as Triton.
      if (service.modelReady(m.model, m.version)) return sendEmpty(res, 200);
      const known = (await service.registry.repositoryModels()).includes(m.model);
      if (!known) throw notFound(`Request for unknown model: '${m.model}' is not found`);
      return sendEmpty(res, 400);
    }
    if (method === "GET" && m.action === "config") return sendJson(res, 200, configJson(service.modelConfig(m.model, m.version)));
    if (method === "GET" && m.action === "stats") return sendJson(res, 200, { model_stats: service.statistics(m.model, m.version) });
    if (method === "POST" && m.action === "infer") {
      const body = await readBody(req);
      const header = req.headers[INFERENCE_HEADER_CONTENT_LENGTH];
      const headerLength = typeof header === "string" ? Number(header) : undefined;
      const parsed = parseHttpInfer(m.model, m.version, body, headerLength);
      const encoded = encodeHttpInfer(await service.infer(parsed.request), parsed);
      const headers: Record<string, string | number> = { "Content-Length": encoded.body.length };
      if (encoded.headerLength === undefined) headers["Content-Type"] = "application/json";
      else {
        headers["Content-Type"] = "application/octet-stream";
        headers["Inference-Header-Content-Length"] = encoded.headerLength;
      }
      res.writeHead(200, headers);
      res.end(encoded.body);
      return;
    }
  }
  throw notFound(`no route for ${method} ${url.pathname}`);
}

export function createHttpServer(service: ModelService): Server {
  return createServer((req, res) => {
    route(service, req, res).catch((e: unknown) => {
      const error = e instanceof SyntaxError ? invalidArgument(`failed to parse the request JSON buffer: ${e.message}`) : asServerError(e);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, httpStatusOf(error.code), { error: error.message });
    });
  });
}

/** The separate metrics endpoint (Triton serves /metrics on its own port). */
export function createMetricsServer(render: () => string): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" || path !== "/metrics") {
      sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
      return;
    }
    const body = Buffer.from(render(), "utf8");
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Content-Length": body.length });
    res.end(body);
  });
}
