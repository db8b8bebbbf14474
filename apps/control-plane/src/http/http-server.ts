import { createServer, type Server } from "node:http";
import { Context, Data, Effect, Layer } from "effect";
import { BerthdConfig } from "../config/config.js";
import { Engine } from "../engine/engine.js";
import { Executor } from "../executor/executor.js";
import { logInfo } from "../log.js";
import { Metrics } from "../metrics/metrics.js";

export class HttpServerError extends Data.TaggedError("HttpServerError")<{ readonly address: string; readonly message: string }> {}

export interface HttpServerShape {
  readonly address: string;
  readonly port: number;
}

/**
 * /healthz (the process runs), /readyz (state recovered, API listening: this layer starts last;
 * 503 naming the backend's trouble while the start-up reconciliation cannot reach it, and while
 * shutting down), /metrics (Prometheus text format).
 */
export class HttpServer extends Context.Tag("@berth/control-plane/HttpServer")<HttpServer, HttpServerShape>() {
  static readonly layer: Layer.Layer<HttpServer, HttpServerError, BerthdConfig | Engine | Metrics | Executor> = Layer.scoped(
    HttpServer,
    Effect.gen(function* () {
      const config = yield* BerthdConfig;
      const engine = yield* Engine;
      const metrics = yield* Metrics;
      const executor = yield* Executor;
      let ready = true;
      const server: Server = createServer((request, response) => {
        const path = (request.url ?? "/").split("?")[0];
        if (request.method !== "GET" && request.method !== "HEAD") {
          response.writeHead(405, { allow: "GET" }).end();
        } else if (path === "/healthz") {
          response.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        } else if (path === "/readyz") {
          const backend = executor.backendProblem();
          const why = !ready ? "shutting down" : backend !== undefined ? `backend unavailable: ${backend}` : undefined;
          response.writeHead(why === undefined ? 200 : 503, { "content-type": "text/plain" }).end(`${why ?? "ready"}\n`);
        } else if (path === "/metrics") {
          response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(metrics.render(engine.snapshot()));
        } else {
          response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz, /readyz, /metrics\n");
        }
      });
      const [host, portText] = [config.http.replace(/:\d+$/, ""), config.http.slice(config.http.lastIndexOf(":") + 1)];
      const port = yield* Effect.async<number, HttpServerError>((resume) => {
        server.once("error", (error) => resume(Effect.fail(new HttpServerError({ address: config.http, message: error.message }))));
        server.listen(Number(portText), host === "" ? undefined : host, () => {
          const address = server.address();
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : Number(portText)));
        });
      });
      yield* Effect.addFinalizer(() =>
        Effect.async<void>((resume) => {
          ready = false;
          server.closeAllConnections();
          server.close(() => resume(Effect.void));
        }),
      );
      const address = `${host}:${port}`;
      yield* logInfo("health and metrics listening", { address: `http://${address}` });
      return { address, port };
    }),
  );
}
