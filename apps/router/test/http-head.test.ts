// The relay's HTTP/1.1 head reading: which requests it takes, which lines it cuts, and where a
// chunked answer ends however its bytes are split.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkedEnd, headEnd, parseRequestHead, parseResponseHead, withoutRanges } from "../src/http-head.js";

const bytes = (s: string) => Buffer.from(s, "latin1");
const kept = (raw: string, head: { drop: readonly number[] }) => withoutRanges(bytes(raw), 0, raw.length, head.drop).toString("latin1");

describe("request heads", () => {
  it("takes a plain HTTP/1.1 request and cuts only hop-by-hop lines, in their bytes", () => {
    const raw =
      "POST /v2/models/simple/infer HTTP/1.1\r\nHost: x:1\r\nConnection: keep-alive\r\nInference-Header-Content-Length: 42\r\n" +
      "Keep-Alive: timeout=5\r\nContent-Type: application/octet-stream\r\nContent-Length: 170\r\nTE: trailers\r\n\r\n";
    const head = parseRequestHead(bytes(raw), 0, headEnd(bytes(raw), 0));
    expect(head).toMatchObject({ method: "POST", target: "/v2/models/simple/infer", contentLength: 170, close: false });
    expect(kept(raw, head!)).toBe(
      "POST /v2/models/simple/infer HTTP/1.1\r\nHost: x:1\r\nInference-Header-Content-Length: 42\r\nContent-Type: application/octet-stream\r\nContent-Length: 170\r\n\r\n",
    );
  });

  it("reads a head that does not start the buffer, and a missing length as no body", () => {
    const raw = "junkGET /v2/models/m/ready HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\nrest";
    const buf = bytes(raw);
    const end = headEnd(buf, 4);
    expect(buf.subarray(end).toString()).toBe("rest");
    const head = parseRequestHead(buf, 4, end)!;
    expect(head).toMatchObject({ method: "GET", contentLength: 0, close: true });
    expect(withoutRanges(buf, 4, end, head.drop).toString()).toBe("GET /v2/models/m/ready HTTP/1.1\r\nhost: a\r\n\r\n");
  });

  it.each([
    ["HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\n\r\n"],
    ["chunked body", "POST /v2/models/m/infer HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["Expect", "POST /v2/models/m/infer HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"],
    ["Upgrade", "GET /v2/models/m HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"],
    ["Connection naming a header", "GET /v2/models/m HTTP/1.1\r\nConnection: x-secret\r\nX-Secret: 1\r\n\r\n"],
    ["two lengths", "POST /v2/models/m/infer HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"],
    ["a bad length", "POST /v2/models/m/infer HTTP/1.1\r\nContent-Length: -3\r\n\r\n"],
    ["obsolete folding", "GET /v2/models/m HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n"],
    ["space before the colon", "GET /v2/models/m HTTP/1.1\r\nContent-Length : 5\r\n\r\n"],
    ["CONNECT", "CONNECT a:1 HTTP/1.1\r\n\r\n"],
    ["absolute form", "GET http://a/v2/models/m HTTP/1.1\r\n\r\n"],
  ])("leaves %s to node:http", (_what, raw) => {
    expect(parseRequestHead(bytes(raw), 0, headEnd(bytes(raw), 0))).toBeUndefined();
  });
});

describe("response heads", () => {
  it("finds the framing and cuts Connection, Keep-Alive and the headers Connection names", () => {
    const raw = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nDate: d\r\n\r\n";
    const head = parseResponseHead(bytes(raw), 0, raw.length)!;
    expect(head).toMatchObject({ status: 200, contentLength: 5, chunked: false, close: false });
    expect(kept(raw, head)).toBe("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: d\r\n\r\n");
  });

  it("keeps Transfer-Encoding: chunked (the body is relayed as it is) and reads close and HTTP/1.0", () => {
    const chunked = "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    const head = parseResponseHead(bytes(chunked), 0, chunked.length)!;
    expect(head).toMatchObject({ status: 500, chunked: true, close: true, contentLength: -1 });
    expect(kept(chunked, head)).toBe("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect(parseResponseHead(bytes("HTTP/1.0 200 OK\r\n\r\n"), 0, 19)).toMatchObject({ close: true, contentLength: -1 });
    expect(parseResponseHead(bytes("HTTP/1.1 204\r\n\r\n"), 0, 16)).toMatchObject({ status: 204 });
    expect(parseResponseHead(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 0, 52)).toBeUndefined();
    expect(parseResponseHead(bytes("HTTX/1.1 200 OK\r\n\r\n"), 0, 19)).toBeUndefined();
  });
});

/** A chunked body of the given chunk sizes (and trailers), as a server could write it. */
function chunkedBody(sizes: number[], trailers: string[], upper: boolean, ext: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const [i, n] of sizes.entries()) {
    const size = n.toString(16);
    parts.push(bytes(`${upper ? size.toUpperCase() : size}${ext ? ";x=1" : ""}\r\n`), Buffer.alloc(n, 48 + (i % 10)), bytes("\r\n"));
  }
  parts.push(bytes(`0\r\n${trailers.map((t) => `${t}\r\n`).join("")}\r\n`));
  return Buffer.concat(parts);
}

describe("chunked ends", () => {
  it("finds the end of a chunked body however its bytes are split, and not before", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 }),
        fc.array(fc.constantFrom("X-A: 1", "Grpc-Status: 0"), { maxLength: 2 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 20 }),
        (sizes, trailers, upper, ext, cuts, extra) => {
          const body = chunkedBody(sizes, trailers, upper, ext);
          const stream = Buffer.concat([body, Buffer.alloc(extra, 65)]);
          const scanner = new ChunkedEnd();
          let offset = 0;
          let found = -1;
          let i = 0;
          while (offset < stream.length && found === -1) {
            const piece = stream.subarray(offset, Math.min(stream.length, offset + cuts[i++ % cuts.length]));
            const end = scanner.scan(piece, 0);
            if (end !== -1) found = offset + end;
            offset += piece.length;
          }
          expect(found).toBe(body.length);
        },
      ),
    );
  });

  it("rejects a body that is not chunked framing", () => {
    expect(() => new ChunkedEnd().scan(bytes("zz\r\n"), 0)).toThrow(/chunk size/);
    expect(() => new ChunkedEnd().scan(bytes("2\r\nabc\r\n"), 0)).toThrow(/overran/);
  });
});
