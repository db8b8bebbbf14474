// HTTP/1.1 message heads as the relay (http-relay.ts) needs them: where a head ends, the few
// headers that decide framing and forwarding, and the byte ranges of hop-by-hop lines to drop.
// Everything else in a head is forwarded as the bytes that arrived. Anything unusual (HTTP/1.0,
// Expect, Upgrade, a Connection header naming other headers, obsolete line folding, a
// Transfer-Encoding on a request, malformed lines) is reported as not `simple`, and the relay
// leaves such a request to node:http.

/** Where the head starting at `from` ends (the index after its blank line), or -1. */
export function headEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf("\r\n\r\n", from, "latin1");
  return i === -1 ? -1 : i + 4;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) but Transfer-Encoding (see scanHeaders). */
const DROPPED = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization"]);

export interface RequestHead {
  readonly method: string;
  /** The request target as sent (origin form). */
  readonly target: string;
  /** Body length; 0 when neither Content-Length nor Transfer-Encoding is present (RFC 9112 6.3). */
  readonly contentLength: number;
  /** The client asked to close the connection after this exchange. */
  readonly close: boolean;
  /** [start, end) byte offsets (relative to the buffer) of header lines not to forward. */
  readonly drop: readonly number[];
}

export interface ResponseHead {
  readonly status: number;
  /** -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** The replica will close this connection after the response (or spoke HTTP/1.0 without keep-alive). */
  readonly close: boolean;
  readonly drop: readonly number[];
}

const tokens = (v: string) => v.toLowerCase().split(",").map((t) => t.trim()).filter((t) => t.length > 0);

interface HeaderScan {
  readonly drop: number[];
  contentLength: number;
  transferEncoding: string | undefined;
  connection: string[];
  expect: boolean;
  upgrade: boolean;
  ok: boolean;
}

/** Reads the header lines of `text` (the head as latin1, from after the start line) at byte offset `base`. */
function scanHeaders(text: string, lineStart: number, base: number): HeaderScan {
  const scan: HeaderScan = { drop: [], contentLength: -1, transferEncoding: undefined, connection: [], expect: false, upgrade: false, ok: true };
  let at = lineStart;
  // The head ends with an empty line; `text` ends right after it.
  while (at < text.length - 2) {
    const eol = text.indexOf("\r\n", at);
    if (eol === -1) {
      scan.ok = false;
      break;
    }
    const colon = text.indexOf(":", at);
    const first = text.charCodeAt(at);
    // Obsolete line folding, a line without a name, whitespace before the colon: not ours.
    if (colon === -1 || colon > eol || colon === at || first === 32 || first === 9 || text.charCodeAt(colon - 1) === 32) {
      scan.ok = false;
      break;
    }
    const name = text.slice(at, colon).toLowerCase();
    if (name === "content-length") {
      const value = text.slice(colon + 1, eol).trim();
      const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
      // Two different lengths is a smuggling attempt or a broken peer.
      if (Number.isNaN(n) || (scan.contentLength !== -1 && scan.contentLength !== n)) scan.ok = false;
      scan.contentLength = n;
    } else if (name === "transfer-encoding") {
      // Kept: a request with one is not the relay's, and a chunked answer is relayed chunked.
      scan.transferEncoding = (scan.transferEncoding === undefined ? "" : `${scan.transferEncoding},`) + text.slice(colon + 1, eol).trim().toLowerCase();
    } else if (DROPPED.has(name)) {
      scan.drop.push(base + at, base + eol + 2);
      if (name === "connection") scan.connection.push(...tokens(text.slice(colon + 1, eol)));
      else if (name === "upgrade") scan.upgrade = true;
    } else if (name === "expect") {
      scan.expect = true;
    }
    at = eol + 2;
  }
  return scan;
}

const METHOD = /^[A-Z]+$/;

/**
 * The head of a request in `buf[start, end)` (end from `headEnd`), or undefined when it is not
 * a plain HTTP/1.1 request with at most a Content-Length body that the relay forwards as it is.
 */
export function parseRequestHead(buf: Buffer, start: number, end: number): RequestHead | undefined {
  const text = buf.toString("latin1", start, end);
  const eol = text.indexOf("\r\n");
  const sp1 = text.indexOf(" ");
  const sp2 = text.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 > eol || text.slice(sp2 + 1, eol) !== "HTTP/1.1") return undefined;
  const method = text.slice(0, sp1);
  const target = text.slice(sp1 + 1, sp2);
  if (!METHOD.test(method) || method === "CONNECT" || target.charCodeAt(0) !== 47 /* "/" */) return undefined;
  const scan = scanHeaders(text, eol + 2, start);
  if (!scan.ok || scan.expect || scan.upgrade || scan.transferEncoding !== undefined) return undefined;
  let close = false;
  for (const t of scan.connection) {
    if (t === "close") close = true;
    else if (t !== "keep-alive") return undefined;
  }
  return { method, target, contentLength: scan.contentLength === -1 ? 0 : scan.contentLength, close, drop: scan.drop };
}

/** The head of a response in `buf[start, end)`, or undefined when it is malformed. */
export function parseResponseHead(buf: Buffer, start: number, end: number): ResponseHead | undefined {
  const text = buf.toString("latin1", start, end);
  const eol = text.indexOf("\r\n");
  if (eol < 12 || !text.startsWith("HTTP/1.") || (text.charCodeAt(12) !== 32 && eol !== 12)) return undefined;
  const http10 = text.charCodeAt(7) === 48; /* "0" */
  const status = Number(text.slice(9, 12));
  if (!Number.isInteger(status) || status < 100 || status > 999) return undefined;
  const scan = scanHeaders(text, eol + 2, start);
  if (!scan.ok) return undefined;
  let chunked = false;
  if (scan.transferEncoding !== undefined) {
    const codings = tokens(scan.transferEncoding);
    // Only "chunked" alone can be relayed as it is and still be delimited.
    if (codings.length !== 1 || codings[0] !== "chunked") return undefined;
    chunked = true;
  }
  let close = http10;
  for (const t of scan.connection) {
    if (t === "close") close = true;
    else if (t === "keep-alive") close = false;
  }
  // Headers the Connection header names are hop-by-hop too.
  const listed = scan.connection.filter((t) => t !== "close" && t !== "keep-alive");
  if (listed.length > 0) dropListed(text, eol + 2, start, new Set(listed), scan.drop);
  return { status, contentLength: chunked ? -1 : scan.contentLength, chunked, close, drop: scan.drop };
}

const startsRange = (drop: readonly number[], at: number) => {
  for (let i = 0; i < drop.length; i += 2) if (drop[i] === at) return true;
  return false;
};

function dropListed(text: string, lineStart: number, base: number, listed: ReadonlySet<string>, drop: number[]): void {
  for (let at = lineStart; at < text.length - 2; ) {
    const eol = text.indexOf("\r\n", at);
    const name = text.slice(at, text.indexOf(":", at)).toLowerCase();
    if (listed.has(name) && !startsRange(drop, base + at)) drop.push(base + at, base + eol + 2);
    at = eol + 2;
  }
  // Ranges in order, so the head can be copied around them in one pass.
  const pairs: [number, number][] = [];
  for (let i = 0; i < drop.length; i += 2) pairs.push([drop[i], drop[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  drop.length = 0;
  for (const [a, b] of pairs) drop.push(a, b);
}

/** `buf[start, end)` without the dropped ranges (sorted, inside it); the same bytes when none. */
export function withoutRanges(buf: Buffer, start: number, end: number, drop: readonly number[]): Buffer {
  if (drop.length === 0) return buf.subarray(start, end);
  let kept = end - start;
  for (let i = 0; i < drop.length; i += 2) kept -= drop[i + 1] - drop[i];
  const out = Buffer.allocUnsafe(kept);
  let at = start;
  let w = 0;
  for (let i = 0; i < drop.length; i += 2) {
    w += buf.copy(out, w, at, drop[i]);
    at = drop[i + 1];
  }
  buf.copy(out, w, at, end);
  return out;
}

/**
 * Finds where a chunked body ends, fed the body's bytes as they arrive (chunk sizes, extensions,
 * data, the last chunk and trailers). Forwarding is byte for byte; this only delimits.
 */
export class ChunkedEnd {
  private state = 0;
  private size = 0;
  private digits = 0;

  /** The index in `buf` just after the body's last byte when it ends in `buf[from, ...)`, else -1. */
  scan(buf: Buffer, from: number): number {
    let i = from;
    const n = buf.length;
    while (i < n) {
      const c = buf[i];
      switch (this.state) {
        case 0: // chunk size
          if (c === 13 || c === 10 || c === 59 || c === 32 || c === 9) {
            if (this.digits === 0) throw new Error("chunk size missing");
            this.state = c === 13 ? 2 : c === 10 ? this.afterSizeLine() : 1;
          } else {
            const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
            if (d === -1 || this.digits >= 12) throw new Error("bad chunk size");
            this.size = this.size * 16 + d;
            this.digits++;
          }
          i++;
          break;
        case 1: // chunk extensions, up to the line end
          if (c === 10) this.state = this.afterSizeLine();
          i++;
          break;
        case 2: // LF after the size line
          if (c !== 10) throw new Error("bad chunk size line");
          this.state = this.afterSizeLine();
          i++;
          break;
        case 3: {
          // chunk data
          const take = Math.min(this.size, n - i);
          this.size -= take;
          i += take;
          if (this.size === 0) this.state = 4;
          break;
        }
        case 4: // CRLF after data
          if (c === 10) this.state = 0;
          else if (c !== 13) throw new Error("chunk data overran its size");
          i++;
          break;
        case 5: // start of a trailer line, or the final empty line
          if (c === 13) this.state = 7;
          else if (c === 10) return this.done(i + 1);
          else this.state = 6;
          i++;
          break;
        case 6: // inside a trailer line
          if (c === 10) this.state = 5;
          i++;
          break;
        case 7: // LF of the final line
          if (c !== 10) throw new Error("bad end of chunked body");
          return this.done(i + 1);
      }
    }
    return -1;
  }

  private afterSizeLine(): number {
    const last = this.size === 0;
    this.digits = 0;
    return last ? 5 : 3;
  }

  private done(at: number): number {
    this.state = 0;
    this.size = 0;
    this.digits = 0;
    return at;
  }
}
