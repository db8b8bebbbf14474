// The HTTP relay (the fast path) on the wire: a scripted TCP replica records the exact bytes it
// receives and answers exact bytes, and raw TCP clients send exact requests, so what the relay
// cuts, keeps, delimits and retries is checked byte for byte.
import net from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeRouteSet } from "../src/route-set.js";
import { startRouter, type RunningRouter } from "../src/router.js";
import { closedPort } from "./upstreams.js";

/** What the scripted replica does with one request: its answer, as pieces written apart, or a cut. */
type Script = (request: Buffer, connection: number, indexOnConnection: number) => { pieces: Buffer[]; thenClose?: boolean } | "cut";

interface ScriptedReplica {
  readonly address: string;
  /** Every request as received (head and body), in order. */
  readonly requests: Buffer[];
  connections: number;
  script: Script;
  close(): Promise<void>;
}

/** Splits the bytes a connection receives into requests (Content-Length bodies only). */
async function scriptedReplica(): Promise<ScriptedReplica> {
  const sockets = new Set<net.Socket>();
  const replica: ScriptedReplica = {
    address: "",
    requests: [],
    connections: 0,
    script: () => ({ pieces: [Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")] }),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const connection = ++replica.connections;
    let index = 0;
    let buffered = Buffer.alloc(0);
    socket.on("data", async (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        const length = Number(/^content-length: *(\d+)/im.exec(buffered.subarray(0, end).toString())?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const request = buffered.subarray(0, end + 4 + length);
        buffered = buffered.subarray(end + 4 + length);
        replica.requests.push(request);
        const answer = replica.script(request, connection, index++);
        if (answer === "cut") {
          socket.destroy();
          return;
        }
        for (const [i, piece] of answer.pieces.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, 5));
          socket.write(piece);
        }
        if (answer.thenClose) socket.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return Object.assign(replica, { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` });
}

/** Sends `bytes` on a fresh connection and collects what comes back until `done` says so or the connection closes. */
function exchange(port: number, bytes: Buffer | Buffer[], done: (received: Buffer) => boolean): Promise<{ received: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const pieces = Array.isArray(bytes) ? bytes : [bytes];
    socket.once("connect", async () => {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 20));
        socket.write(piece);
      }
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (done(received)) {
        socket.destroy();
        resolve({ received, closed: false });
      }
    });
    socket.once("error", reject);
    socket.once("close", () => resolve({ received, closed: true }));
  });
}

const countOf = (haystack: Buffer, needle: string) => haystack.toString("latin1").split(needle).length - 1;

let replica: ScriptedReplica;
let router: RunningRouter;
let port: number;

beforeAll(async () => {
  replica = await scriptedReplica();
  router = await startRouter({ host: "127.0.0.1", httpPort: 0, grpcPort: null, picker: "round-robin", seed: 1, log: () => {} });
  port = router.ports.http;
});

afterAll(async () => {
  await router?.close();
  await replica?.close();
});

beforeEach(() => {
  router.routes.set(decodeRouteSet({ leases: [{ name: "scripted", models: ["m"], replicas: [{ id: "s1", http: replica.address }] }] }));
  replica.requests.length = 0;
  replica.script = () => ({ pieces: [Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")] });
});

describe("the HTTP relay", () => {
  it("forwards a binary-tensor request and its answer byte for byte, cutting only hop-by-hop lines", async () => {
    const tensor = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const json = Buffer.from('{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":256}}]}');
    const body = Buffer.concat([json, tensor]);
    const head = (extra: string) =>
      `POST /v2/models/m/infer?x=1 HTTP/1.1\r\nHost: router\r\n${extra}Inference-Header-Content-Length: ${json.length}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`;
    const answerBody = Buffer.concat([Buffer.from('{"outputs":[]}'), Buffer.from(tensor).reverse()]);
    const answerHead = `HTTP/1.1 200 OK\r\nInference-Header-Content-Length: 14\r\nContent-Type: application/octet-stream\r\nContent-Length: ${answerBody.length}\r\n`;
    replica.script = () => ({ pieces: [Buffer.concat([Buffer.from(`${answerHead}Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n`), answerBody])] });

    const sent = Buffer.concat([Buffer.from(head("Connection: keep-alive\r\nKeep-Alive: 300\r\nTE: trailers\r\n")), body]);
    const expected = Buffer.concat([Buffer.from(`${answerHead}\r\n`), answerBody]);
    const { received } = await exchange(port, sent, (r) => r.length >= expected.length);
    expect(received.equals(expected)).toBe(true);
    expect(replica.requests).toHaveLength(1);
    const want = Buffer.concat([Buffer.from(head("")), body]);
    const got = replica.requests[0];
    expect(got.length).toBe(want.length);
    expect(got.findIndex((b, i) => b !== want[i])).toBe(-1);
  });

  it("takes a body that arrives after its head, and answers pipelined requests in order", async () => {
    let n = 0;
    replica.script = (request) => {
      const body = `${++n}:${request.subarray(request.indexOf("\r\n\r\n") + 4).toString()}`;
      return { pieces: [Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`)] };
    };
    const req = (body: string) => `POST /v2/models/m/infer HTTP/1.1\r\nHost: r\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const { received } = await exchange(port, [Buffer.from(req("first").slice(0, -3)), Buffer.from("rst" + req("second") + req("third"))], (r) => countOf(r, "HTTP/1.1 200") === 3 && r.toString().endsWith("third"));
    expect(received.toString().split(/HTTP\/1.1 200 OK\r\nContent-Length: \d+\r\n\r\n/).filter(Boolean)).toEqual(["1:first", "2:second", "3:third"]);
  });

  it("hands a connection to node:http at a request it does not relay, and node:http serves the rest", async () => {
    const infer = "POST /v2/models/m/infer HTTP/1.1\r\nHost: r\r\nContent-Length: 2\r\n\r\nhi";
    const live = "GET /v2/health/live HTTP/1.1\r\nHost: r\r\n\r\n";
    const { received } = await exchange(port, Buffer.from(infer + live + infer), (r) => countOf(r, "HTTP/1.1 200") === 3 && r.toString().endsWith("ok"));
    const text = received.toString();
    // The relayed answer comes first, as the replica wrote it; node:http's answers carry its own headers.
    expect(text.startsWith("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")).toBe(true);
    expect(countOf(received, "Keep-Alive: timeout=30")).toBe(2);
    expect(replica.requests).toHaveLength(2);
  });

  it("relays a chunked answer as it comes and a close-delimited one until the replica closes", async () => {
    replica.script = () => ({ pieces: ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n", "6\r\n world\r\n0\r\n\r\n"].map((s) => Buffer.from(s)) });
    const req = Buffer.from("GET /v2/models/m/stats HTTP/1.1\r\nHost: r\r\n\r\n");
    const chunked = await exchange(port, Buffer.concat([req, req]), (r) => countOf(r, "0\r\n\r\n") === 2);
    expect(chunked.received.toString()).toBe("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".repeat(2));

    replica.script = () => ({ pieces: [Buffer.from("HTTP/1.1 200 OK\r\n\r\nuntil"), Buffer.from(" the end")], thenClose: true });
    const untilClose = await exchange(port, req, () => false);
    expect(untilClose.closed).toBe(true);
    expect(untilClose.received.toString()).toBe("HTTP/1.1 200 OK\r\n\r\nuntil the end");
  });

  it("sends a request again on a new connection when a kept-alive one was closed under it", async () => {
    const connectionsBefore = replica.connections;
    // Each connection's second request finds it cut, as a replica's idle close would.
    replica.script = (_request, _connection, index) => (index === 0 ? { pieces: [Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")] } : "cut");
    const infer = Buffer.from("POST /v2/models/m/infer HTTP/1.1\r\nHost: r\r\nContent-Length: 2\r\n\r\nhi");
    const first = await exchange(port, infer, (r) => r.toString().endsWith("ok"));
    const second = await exchange(port, infer, (r) => r.toString().endsWith("ok"));
    expect([first.received.toString(), second.received.toString()]).toEqual(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
    expect(replica.connections - connectionsBefore).toBeGreaterThanOrEqual(2);
    expect(router.metricsText()).toMatch(/berth_router_upstream_retries_total [1-9]/);
  });

  it("answers 502 naming the replica when it fails a sent POST, and moves on from a refused connection", async () => {
    replica.script = () => "cut";
    const infer = Buffer.from("POST /v2/models/m/infer HTTP/1.1\r\nHost: r\r\nContent-Length: 2\r\n\r\nhi");
    const failed = await exchange(port, infer, (r) => r.includes("}"));
    expect(failed.received.toString()).toMatch(/^HTTP\/1.1 502 Bad Gateway\r\n[\s\S]*replica 's1'.*after the request was sent/);

    replica.script = () => ({ pieces: [Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")] });
    router.routes.set(
      decodeRouteSet({ leases: [{ name: "scripted", models: ["m"], replicas: [{ id: "dead", http: `127.0.0.1:${await closedPort()}` }, { id: "s1", http: replica.address }] }] }),
    );
    for (let i = 0; i < 3; i++) {
      const { received } = await exchange(port, infer, (r) => r.toString().endsWith("ok"));
      expect(received.toString()).toBe("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    expect(router.metricsText()).toMatch(/berth_router_replica_up\{replica="dead"\} 0/);
  });
});
