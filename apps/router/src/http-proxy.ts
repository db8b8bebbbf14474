// The KServe v2 HTTP front door. `/v2/models/{model}/...` is forwarded to a replica of a lease
// holding the model, bodies streamed both ways and headers kept (Inference-Header-Content-Length
// included), over a pool of keep-alive connections per replica (undici, whose client costs a
// fraction of node:http's per request). Health, server metadata and /metrics are
// answered here. A refused connection marks the replica down and the request goes to another
// replica (nothing was sent); a bodiless read that failed after sending is tried once more.
import http from "node:http";
import { performance } from "node:perf_hooks";
import type { AutoLeaser } from "./auto-lease.js";
import type { Dispatch, Dispatcher } from "./dispatcher.js";
import { UNROUTED_MODEL, type RouterMetrics } from "./metrics.js";
import { HTTP_STATUS, type Refusal } from "./refusal.js";
import type { ReplicaState } from "./replica-state.js";
import type { RouteTable } from "./route-table.js";
import { Pool, type Dispatcher as UndiciDispatcher } from "undici";

export interface HttpProxyDeps {
  readonly table: RouteTable;
  readonly dispatcher: Dispatcher;
  readonly autoLeaser: AutoLeaser;
  readonly replicas: ReplicaState;
  readonly metrics: RouterMetrics;
  readonly renderMetrics: () => string;
  readonly serverMetadata: { readonly name: string; readonly version: string; readonly extensions: readonly string[] };
  /** Idle keep-alive connections to a replica are closed after this, before the replica closes them. */
  readonly upstreamIdleMs: number;
  /** Most connections per replica (requests beyond it queue in the agent). */
  readonly maxSocketsPerReplica: number;
}

const MODELS_PREFIX = "/v2/models/";

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization"]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const connection = headers.connection;
  const listed = connection !== undefined && connection !== "keep-alive" && connection !== "close" ? new Set(connection.toLowerCase().split(/\s*,\s*/)) : undefined;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The model named by a /v2/models/{model}[/...] path, or undefined when it is not decodable. */
export function modelOfPath(path: string): string | undefined {
  const rest = path.slice(MODELS_PREFIX.length);
  const slash = rest.indexOf("/");
  const raw = slash === -1 ? rest : rest.slice(0, slash);
  if (raw.length === 0) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** Bodies up to this size are gathered and written in one piece; larger ones stream. */
export const SMALL_BODY = 64 * 1024;

function contentLength(headers: http.IncomingHttpHeaders | Record<string, string | string[] | undefined>): number | undefined {
  const v = headers["content-length"];
  if (typeof v !== "string" || headers["transfer-encoding"] !== undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 6.3). */
const requestBodyLength = (m: http.IncomingMessage): number | undefined =>
  m.headers["content-length"] === undefined && m.headers["transfer-encoding"] === undefined ? 0 : contentLength(m.headers);

// Besides the hop-by-hop headers, undici sets these itself from the body it is given.
const NOT_FORWARDED = new Set([...HOP_BY_HOP, "expect"]);

/** The request's headers for the replica, as undici's flat [name, value, ...] array. */
function upstreamHeaders(raw: readonly string[], connection: string | undefined): string[] {
  const listed = connection !== undefined && connection !== "keep-alive" && connection !== "close" ? new Set(connection.toLowerCase().split(/\s*,\s*/)) : undefined;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (NOT_FORWARDED.has(name) || listed?.has(name)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/**
 * Reads a small body whole: it usually arrives with the request head, and a body in one
 * piece leaves with the upstream request's head in one write (a syscall per message is most
 * of a loopback proxy's cost). It also makes a refused connection's retry trivially safe.
 */
function readSmallBody(req: http.IncomingMessage, done: (body: Buffer) => void): void {
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  req.on("data", (chunk: Buffer) => {
    if (first === undefined) first = chunk;
    else (more ??= [first]).push(chunk);
  });
  req.once("end", () => done(more !== undefined ? Buffer.concat(more) : (first ?? Buffer.alloc(0))));
}

/** What goes to the replica: nothing, a small body read whole, or the client's stream. */
type RequestBody = Buffer | http.IncomingMessage | null;

const isBodilessRead = (method: string | undefined) => method === "GET" || method === "HEAD";

/** The most tries a read that failed after it was sent gets: the first replica and one other. */
const MAX_TRIES = 2;

export function createHttpProxy(deps: HttpProxyDeps): http.Server & { closeUpstreams(): void } {
  const { dispatcher, autoLeaser, replicas, metrics } = deps;
  const pools = new Map<string, Pool>();
  const pool = (address: string): Pool => {
    let p = pools.get(address);
    if (p === undefined) {
      p = new Pool(`http://${address}`, {
        connections: deps.maxSocketsPerReplica,
        pipelining: 1,
        keepAliveTimeout: deps.upstreamIdleMs,
        // Inference may take long; the client's own timeout governs, as if it called the replica.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      pools.set(address, p);
    }
    return p;
  };

  const refuse = (res: http.ServerResponse, model: string, r: Refusal) => {
    const status = HTTP_STATUS[r.reason];
    metrics.request("http", r.reason === "NoLease" ? UNROUTED_MODEL : model, status);
    if (res.headersSent || res.destroyed) return;
    sendJson(res, status, { error: r.message }, r.retryAfterS === undefined ? {} : { "retry-after": String(r.retryAfterS) });
  };

  const attempt = (req: http.IncomingMessage, res: http.ServerResponse, model: string, tried: Set<string> | undefined, afterHold: boolean, body: RequestBody): void => {
    const route = dispatcher.route(model, "http", tried, afterHold);
    if (route.kind === "refused") return refuse(res, model, route);
    if (route.kind === "hold") {
      const abort = new AbortController();
      const onClose = () => abort.abort();
      res.once("close", onClose);
      void autoLeaser.hold(model, route.policy, abort.signal).then((outcome) => {
        res.off("close", onClose);
        if (outcome !== undefined) refuse(res, model, outcome);
        else if (!res.destroyed) attempt(req, res, model, tried, true, body);
      });
      return;
    }
    forward(req, res, model, route, tried, body);
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, model: string, route: Dispatch, tried: Set<string> | undefined, body: RequestBody): void => {
    const { candidate } = route;
    const started = performance.now();
    let controller: UndiciDispatcher.DispatchController | undefined;
    let sent = false;
    let responded = false;
    let finished = false;
    let clientGone = false;
    let gathered: Buffer[] | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      res.off("close", onClose);
      dispatcher.done(candidate);
    };
    const onClose = () => {
      if (res.writableFinished) return;
      clientGone = true;
      controller?.abort(new Error("the client went away"));
      finish();
    };
    res.once("close", onClose);

    pool(candidate.address).dispatch(
      { path: req.url ?? "/", method: (req.method ?? "GET") as UndiciDispatcher.HttpMethod, headers: upstreamHeaders(req.rawHeaders, req.headers.connection), body },
      {
        onRequestStart(c) {
          // A connection is up and the request is about to be written: from here on, a
          // failure may have reached the replica.
          controller = c;
          sent = true;
          if (clientGone) c.abort(new Error("the client went away"));
        },
        onResponseStart(c, status, headers, statusMessage) {
          responded = true;
          replicas.markUp(candidate.id);
          metrics.request("http", model, status);
          if (statusMessage) res.statusMessage = statusMessage;
          res.writeHead(status, endToEnd(headers as http.IncomingHttpHeaders));
          const length = contentLength(headers);
          if (length !== undefined && length <= SMALL_BODY) gathered = [];
          controller = c;
        },
        onResponseData(c, chunk) {
          if (gathered !== undefined) gathered.push(chunk);
          else if (!res.write(chunk)) {
            c.pause();
            res.once("drain", () => c.resume());
          }
        },
        onResponseEnd() {
          if (gathered === undefined) res.end();
          else res.end(gathered.length === 1 ? gathered[0] : Buffer.concat(gathered));
          metrics.upstreamLatency(model, (performance.now() - started) / 1000);
          finish();
        },
        onResponseError(_c, err: Error & { code?: string }) {
          finish();
          if (clientGone) return;
          if (responded) {
            res.destroy();
            return;
          }
          if (!sent) replicas.markDown(candidate.id);
          const tries = (tried?.size ?? 0) + 1;
          // Nothing sent: any other replica may take it (each is tried once, and a refused one
          // is marked down, so this ends). Sent: only a bodiless read goes again, once.
          const replayable = body === null || Buffer.isBuffer(body) || !sent;
          if (replayable && (!sent || (isBodilessRead(req.method) && tries < MAX_TRIES)) && !res.destroyed) {
            metrics.retry();
            const next = new Set(tried);
            next.add(candidate.id);
            attempt(req, res, model, next, true, body);
            return;
          }
          if (res.destroyed) return;
          metrics.request("http", model, 502);
          sendJson(res, 502, { error: `replica '${candidate.id}' (${candidate.address}) of model '${model}' failed: ${err.code ?? err.message}${sent ? " after the request was sent" : ""}` });
        },
      },
    );
  };

  const server = http.createServer({ keepAliveTimeout: 30_000, noDelay: true }, (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path.startsWith(MODELS_PREFIX)) {
      const model = modelOfPath(path);
      if (model === undefined) {
        metrics.request("http", UNROUTED_MODEL, 400);
        return sendJson(res, 400, { error: `no model name in '${path}'` });
      }
      if (model === "stats" && path.length === MODELS_PREFIX.length + "stats".length) {
        metrics.request("http", UNROUTED_MODEL, 400);
        return sendJson(res, 400, { error: "the router has no statistics of its own: ask per model, /v2/models/{model}/stats" });
      }
      const length = requestBodyLength(req);
      if (length === 0) return attempt(req, res, model, undefined, false, null);
      if (length !== undefined && length <= SMALL_BODY) return readSmallBody(req, (body) => attempt(req, res, model, undefined, false, body));
      return attempt(req, res, model, undefined, false, req);
    }
    // Everything below is the router's own and has no body to read.
    req.resume();
    switch (path) {
      case "/v2/health/live":
        res.writeHead(200, { "content-length": 0 }).end();
        return;
      case "/v2/health/ready":
        if (deps.table.loaded) res.writeHead(200, { "content-length": 0 }).end();
        else sendJson(res, 503, { error: "the router has no routing table yet" });
        return;
      case "/v2":
      case "/v2/":
        return sendJson(res, 200, deps.serverMetadata);
      case "/metrics": {
        const text = deps.renderMetrics();
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) });
        res.end(text);
        return;
      }
    }
    if (path.startsWith("/v2/repository")) {
      return sendJson(res, 403, { error: "the router does not serve the repository API: models are loaded and unloaded by leases (berth lease create)" });
    }
    sendJson(res, 404, { error: `no such endpoint: ${req.method} ${path}` });
  });
  server.headersTimeout = 35_000;
  return Object.assign(server, {
    closeUpstreams() {
      for (const p of pools.values()) void p.destroy();
      pools.clear();
    },
  });
}
