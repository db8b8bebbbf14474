// The HTTP front door's fast path: a relay of plain HTTP/1.1 infer traffic straight between TCP
// sockets. node:http's server objects (IncomingMessage, ServerResponse, header maps) and any
// client library cost more CPU per request than the forwarding itself; here a request whose
// head and (small) body have arrived is routed and written to a kept-alive replica connection
// as the bytes that came (hop-by-hop lines cut out), and the answer goes back the same way,
// its framing (Content-Length, chunked, or until close) read only to know where it ends.
//
// Whatever is not that (bodies over SMALL_BODY or chunked, Expect, HTTP/1.0, the router's own
// endpoints, models without a route, which may wait for an auto-lease) is handed, with the
// connection, to the node:http server of http-proxy.ts at a request boundary, unread.
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";
import type { Candidate } from "./route-table.js";
import { ChunkedEnd, headEnd, parseRequestHead, parseResponseHead, withoutRanges } from "./http-head.js";
import { createHttpProxy, modelOfPath, SMALL_BODY, type HttpProxyDeps } from "./http-proxy.js";
import { UNROUTED_MODEL } from "./metrics.js";
import { HTTP_STATUS } from "./refusal.js";
import { UpstreamPool, type UpstreamConnection, type UpstreamUser } from "./upstream-pool.js";

const MODELS_PREFIX = "/v2/models/";
/** A head longer than this is not the relay's; node:http answers it (431). */
const MAX_HEAD = 16 * 1024;
/** Pipelined bytes buffered while a request is in flight before the client is paused. */
const MAX_PENDING = 256 * 1024;
/** The most tries a bodiless read that failed after it was sent gets: the first replica and one other. */
const MAX_TRIES = 2;
const CLIENT_IDLE_MS = 30_000;
const SWEEP_MS = 1_000;

export interface HttpFrontDoorOptions {
  /** Relay plain infer traffic on raw sockets (default); false serves everything with node:http. */
  readonly fastPath: boolean;
}

export interface HttpFrontDoor {
  /** Resolves with the port once listening. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, closes idle connections, cuts the rest after `graceMs`; resolves when all are gone. */
  close(graceMs: number): Promise<void>;
  closeUpstreams(): void;
}

interface Relay {
  readonly deps: HttpProxyDeps;
  readonly slow: http.Server;
  pool(address: string): UpstreamPool;
  readonly clients: Set<ClientConnection>;
  /** A coarse clock (ms), advanced by the sweeper: idle bookkeeping needs no precise time. */
  tick: number;
  closing: boolean;
}

/** Bytes the dropped ranges cover. */
const dropped = (drop: readonly number[]) => {
  let n = 0;
  for (let i = 0; i < drop.length; i += 2) n += drop[i + 1] - drop[i];
  return n;
};

const reasonPhrase = (status: number) => http.STATUS_CODES[status] ?? "Unknown";

/** One request on its way to a replica and its answer on the way back. */
class Exchange implements UpstreamUser {
  private candidate: Candidate | undefined;
  private tried: Set<string> | undefined;
  private conn: UpstreamConnection | undefined;
  private pool: UpstreamPool | undefined;
  private started = 0;
  private received = 0;
  private responded = false;
  private staleRetried = false;
  private head: Buffer | undefined;
  private remaining = 0;
  private chunked: ChunkedEnd | undefined;
  private untilClose = false;
  private reusable = true;
  private paused = false;

  constructor(
    private readonly relay: Relay,
    private readonly client: ClientConnection,
    private readonly model: string,
    private readonly request: Buffer,
    private readonly method: string,
  ) {}

  start(afterFailure: boolean): void {
    const { dispatcher, metrics } = this.relay.deps;
    const route = dispatcher.route(this.model, "http", this.tried, afterFailure);
    if (route.kind === "hold") {
      // Only after every replica was tried and the table lost the model meanwhile: no second wait.
      this.client.respond(503, `model '${this.model}' lost its route while its request was retried`, 1);
      this.client.exchangeDone(false);
      return;
    }
    if (route.kind === "refused") {
      metrics.request("http", route.reason === "NoLease" ? UNROUTED_MODEL : this.model, HTTP_STATUS[route.reason]);
      this.client.respond(HTTP_STATUS[route.reason], route.message, route.retryAfterS);
      this.client.exchangeDone(false);
      return;
    }
    this.candidate = route.candidate;
    this.started = performance.now();
    this.pool = this.relay.pool(route.candidate.address);
    const conn = this.pool.acquire();
    if (conn !== undefined) this.send(conn);
    else this.pool.wait(this);
  }

  granted(conn: UpstreamConnection): void {
    this.send(conn);
  }

  private send(conn: UpstreamConnection): void {
    this.conn = conn;
    conn.user = this;
    conn.socket.write(this.request);
  }

  onUpstreamData(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.responded) this.body(chunk, 0);
    else this.onHeadBytes(this.head === undefined ? chunk : Buffer.concat([this.head, chunk]));
  }

  private onHeadBytes(buf: Buffer): void {
    const end = headEnd(buf, 0);
    if (end === -1) {
      if (buf.length > MAX_HEAD) this.fail("answered with a head over 16 KiB");
      else this.head = buf;
      return;
    }
    this.head = undefined;
    const head = parseResponseHead(buf, 0, end);
    if (head === undefined) return this.fail("answered with a malformed response head");
    if (head.status < 200) {
      // 101 would switch protocols, which nothing here asked for.
      if (head.status === 101) return this.fail("switched protocols unasked");
      // Interim answers (103 Early Hints) go through; the final one follows.
      this.client.write(withoutRanges(buf, 0, end, head.drop));
      if (end < buf.length) this.onHeadBytes(buf.subarray(end));
      return;
    }
    const { replicas, metrics } = this.relay.deps;
    this.responded = true;
    replicas.markUp(this.candidate!.id);
    metrics.request("http", this.model, head.status);
    this.reusable = !head.close;
    if (this.method === "HEAD" || head.status === 204 || head.status === 304) this.remaining = 0;
    else if (head.chunked) this.chunked = new ChunkedEnd();
    else if (head.contentLength >= 0) this.remaining = head.contentLength;
    else {
      this.untilClose = true;
      this.reusable = false;
    }
    if (end === buf.length) {
      this.client.write(withoutRanges(buf, 0, end, head.drop));
      if (this.remaining === 0 && this.chunked === undefined && !this.untilClose) this.complete(false);
      return;
    }
    // Head and body in one buffer and one write when they came together: a writev of two costs more.
    this.body(head.drop.length === 0 ? buf : withoutRanges(buf, 0, buf.length, head.drop), end - dropped(head.drop), true);
  }

  /** Relays `chunk[from..]` up to the message end (from 0 when `withHead`), and completes the exchange there. */
  private body(chunk: Buffer, from: number, withHead = false): void {
    let end: number;
    if (this.chunked !== undefined) {
      try {
        end = this.chunked.scan(chunk, from);
      } catch {
        return this.brokenAnswer();
      }
    } else if (this.untilClose) end = -1;
    else {
      const available = chunk.length - from;
      if (available < this.remaining) {
        this.remaining -= available;
        end = -1;
      } else {
        end = from + this.remaining;
        this.remaining = 0;
      }
    }
    const start = withHead ? 0 : from;
    const piece = start === 0 && (end === -1 || end === chunk.length) ? chunk : chunk.subarray(start, end === -1 ? chunk.length : end);
    if (piece.length > 0 && !this.client.write(piece) && this.conn !== undefined && !this.paused) {
      this.paused = true;
      this.conn.socket.pause();
    }
    if (end !== -1) {
      // Bytes after the answer: the replica and we disagree on framing; do not reuse it.
      if (end < chunk.length) this.reusable = false;
      this.complete(false);
    }
  }

  /** The client's socket drained: the replica's bytes may flow again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn?.socket.resume();
  }

  private complete(closeClient: boolean): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) {
      conn.user = undefined;
      if (this.paused) conn.socket.resume();
      if (this.reusable) this.pool!.release(conn, this.relay.tick);
      else conn.destroy();
    }
    this.relay.deps.metrics.upstreamLatency(this.model, (performance.now() - this.started) / 1000);
    this.finish();
    this.client.exchangeDone(closeClient);
  }

  private finish(): void {
    if (this.candidate === undefined) return;
    this.relay.deps.dispatcher.done(this.candidate);
    this.candidate = undefined;
  }

  onUpstreamLost(ended: boolean, error: (Error & { code?: string }) | undefined): void {
    const conn = this.conn!;
    this.conn = undefined;
    if (this.responded) {
      if (this.untilClose && ended) return this.complete(true);
      // Part of the answer went out: the client must see it broken, not complete.
      this.finish();
      this.client.destroy();
      return;
    }
    const candidate = this.candidate!;
    const { replicas, metrics } = this.relay.deps;
    if (this.received === 0 && conn.reused && !this.staleRetried) {
      // The replica closed a kept-alive connection as the request went out: it never read it.
      this.staleRetried = true;
      metrics.retry();
      this.send(this.pool!.connect());
      return;
    }
    const sent = conn.connected;
    if (!sent) replicas.markDown(candidate.id);
    const tries = (this.tried?.size ?? 0) + 1;
    // Nothing sent: any other replica may take it (a refused one is marked down, so this ends).
    // Sent: only a bodiless read goes again, once.
    if (this.received === 0 && (!sent || ((this.method === "GET" || this.method === "HEAD") && tries < MAX_TRIES))) {
      metrics.retry();
      this.finish();
      (this.tried ??= new Set()).add(candidate.id);
      this.staleRetried = false;
      this.start(true);
      return;
    }
    const why = error?.code ?? error?.message ?? (ended ? "closed the connection" : "connection lost");
    this.fail(`failed: ${why}${sent ? " after the request was sent" : ""}`);
  }

  /** The answer's framing broke after part of it went out: both connections are done. */
  private brokenAnswer(): void {
    const conn = this.conn;
    this.conn = undefined;
    conn?.destroy();
    this.finish();
    this.client.destroy();
  }

  /** 502 naming the replica, when nothing of the answer has gone to the client. */
  private fail(what: string): void {
    const candidate = this.candidate!;
    if (this.conn !== undefined) {
      const conn = this.conn;
      this.conn = undefined;
      conn.destroy();
    }
    this.finish();
    this.relay.deps.metrics.request("http", this.model, 502);
    this.client.respond(502, `replica '${candidate.id}' (${candidate.address}) of model '${this.model}' ${what}`, undefined);
    this.client.exchangeDone(false);
  }

  /** The client went away: the replica's connection cannot carry a half-read answer. */
  abort(): void {
    if (this.conn !== undefined) {
      const conn = this.conn;
      this.conn = undefined;
      conn.destroy();
    } else this.pool?.unwait(this);
    this.finish();
  }
}

/** One client connection while the relay serves it. */
class ClientConnection {
  private pending: Buffer | undefined;
  private exchange: Exchange | undefined;
  private ended = false;
  private closeAfter = false;
  private gone = false;
  lastActive: number;

  constructor(
    private readonly relay: Relay,
    readonly socket: net.Socket,
  ) {
    this.lastActive = relay.tick;
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onClose);
    socket.on("error", this.onError);
    socket.on("drain", this.onDrain);
  }

  get idle(): boolean {
    return this.exchange === undefined;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.exchange === undefined) this.next();
    else if (this.pending.length > MAX_PENDING) this.socket.pause();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    if (this.exchange === undefined) this.socket.end();
  };

  private readonly onClose = (): void => {
    this.gone = true;
    this.relay.clients.delete(this);
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.abort();
  };

  private readonly onError = (): void => {
    // 'close' follows and cleans up.
  };

  private readonly onDrain = (): void => {
    this.exchange?.resume();
  };

  write(bytes: Buffer): boolean {
    return this.gone ? true : this.socket.write(bytes);
  }

  destroy(): void {
    this.exchange = undefined;
    this.socket.destroy();
  }

  /** Writes one of the router's own JSON error answers. */
  respond(status: number, error: string, retryAfterS: number | undefined): void {
    if (this.gone) return;
    const body = JSON.stringify({ error });
    const head =
      `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${retryAfterS === undefined ? "" : `retry-after: ${retryAfterS}\r\n`}${this.closeAfter ? "connection: close\r\n" : ""}\r\n`;
    this.socket.write(head + body);
  }

  /** The exchange in flight has ended; the next pipelined request (if any) goes. */
  exchangeDone(closeClient: boolean): void {
    this.exchange = undefined;
    this.lastActive = this.relay.tick;
    if (this.gone) return;
    if (closeClient || this.closeAfter || this.relay.closing) {
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.pending !== undefined) this.next();
    else if (this.ended) this.socket.end();
  }

  /** Starts the next complete request in `pending`, or hands the connection to node:http. */
  private next(): void {
    const buf = this.pending;
    if (buf === undefined || this.gone || this.closeAfter) return;
    const end = headEnd(buf, 0);
    if (end === -1) {
      if (buf.length > MAX_HEAD) this.handOff();
      return;
    }
    const head = parseRequestHead(buf, 0, end);
    if (head === undefined || head.contentLength > SMALL_BODY || !head.target.startsWith(MODELS_PREFIX)) return this.handOff();
    const q = head.target.indexOf("?");
    const path = q === -1 ? head.target : head.target.slice(0, q);
    const model = modelOfPath(path);
    // No model, the bare stats path, a model without replicas (404 or auto-lease): node:http's.
    if (model === undefined || path === `${MODELS_PREFIX}stats` || !(this.relay.deps.table.routesFor(model)?.http.length ?? 0)) return this.handOff();
    const total = end + head.contentLength;
    if (buf.length < total) return; // the rest of the body is on its way
    const request = withoutRanges(buf, 0, total, head.drop);
    this.pending = total === buf.length ? undefined : buf.subarray(total);
    if (head.close) this.closeAfter = true;
    const exchange = new Exchange(this.relay, this, model, request, head.method);
    this.exchange = exchange;
    exchange.start(false);
  }

  /** The rest of this connection is node:http's, from the first unread byte on. */
  private handOff(): void {
    const { socket } = this;
    // A client that half-closed has sent all it will; a stream that ended takes no bytes back.
    if (this.ended) {
      socket.end();
      return;
    }
    socket.pause();
    socket.off("data", this.onData);
    socket.off("end", this.onEnd);
    socket.off("close", this.onClose);
    socket.off("error", this.onError);
    socket.off("drain", this.onDrain);
    this.relay.clients.delete(this);
    if (this.pending !== undefined) socket.unshift(this.pending);
    this.pending = undefined;
    // node:http reads a fresh socket's handle directly, past the stream; this one has bytes
    // waiting in the stream, so it must read through the stream, in order.
    const handle = (socket as unknown as { _handle?: { _consumed?: boolean } })._handle;
    if (handle !== undefined && handle !== null) handle._consumed = true;
    this.relay.slow.emit("connection", socket);
    socket.resume();
  }
}

export function createHttpFrontDoor(deps: HttpProxyDeps, options: HttpFrontDoorOptions): HttpFrontDoor {
  const slow = createHttpProxy(deps);
  const pools = new Map<string, UpstreamPool>();
  const relay: Relay = {
    deps,
    slow,
    clients: new Set(),
    tick: 0,
    closing: false,
    pool(address) {
      let p = pools.get(address);
      if (p === undefined) pools.set(address, (p = new UpstreamPool(address, deps.maxSocketsPerReplica)));
      return p;
    },
  };
  const listener: net.Server = options.fastPath
    ? net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => relay.clients.add(new ClientConnection(relay, socket)))
    : slow;
  const sweeper = setInterval(() => {
    relay.tick += SWEEP_MS;
    for (const p of pools.values()) p.sweep(relay.tick - deps.upstreamIdleMs);
    for (const c of relay.clients) if (c.idle && relay.tick - c.lastActive > CLIENT_IDLE_MS) c.socket.destroy();
  }, SWEEP_MS);
  sweeper.unref();

  return {
    listen(port, host) {
      return new Promise<number>((resolve, reject) => {
        listener.once("error", reject);
        listener.listen(port, host, () => {
          listener.off("error", reject);
          // node:http's timeouts (headersTimeout) run from its 'listening'; handed-off sockets need them too.
          if (listener !== slow) slow.emit("listening");
          resolve((listener.address() as net.AddressInfo).port);
        });
      });
    },
    close(graceMs) {
      relay.closing = true;
      return new Promise<void>((resolve) => {
        listener.close(() => resolve());
        if (listener !== slow) slow.close(() => {});
        slow.closeIdleConnections();
        for (const c of relay.clients) if (c.idle) c.socket.end();
        setTimeout(() => {
          slow.closeAllConnections();
          for (const c of relay.clients) c.socket.destroy();
        }, graceMs).unref();
      }).finally(() => clearInterval(sweeper));
    },
    closeUpstreams() {
      slow.closeUpstreams();
      for (const p of pools.values()) p.destroy();
      pools.clear();
    },
  };
}
