import * as grpc from "@grpc/grpc-js";
import { Either, Runtime, type Effect } from "effect";
import type { SidecarReport, SidecarServerStream } from "@berth/api/sidecar";
import type { BerthdConfigShape } from "../config/config.js";
import type { SidecarHubShape, SidecarSession } from "../executor/sidecar-hub.js";
import { apiError, toServiceError } from "./errors.js";
import { authenticateSidecar, mayActFor } from "./sidecar-auth.js";

/**
 * berthd's end of SidecarService.Connect: the call's token is checked first (when
 * auth.sidecarSecret is set); the first report (Hello) names the server, which must be the
 * token's; from then on the hub sends assignments down the stream and turns reports into
 * events. Reports of one stream are handled in order.
 */
export const makeSidecarHandlers = (hub: SidecarHubShape, runtime: Runtime.Runtime<never>, auth?: BerthdConfigShape["auth"]) => ({
  Connect: (stream: SidecarServerStream) => {
    const principal = authenticateSidecar(auth?.sidecarSecret, stream.metadata);
    if (Either.isLeft(principal)) {
      stream.emit("error", toServiceError(principal.left));
      return;
    }
    let session: SidecarSession | undefined;
    let refused = false;
    let chain: Promise<unknown> = Promise.resolve();
    const run = (effect: Effect.Effect<void>) => (chain = chain.then(() => Runtime.runPromise(runtime)(effect)).catch(() => undefined));
    stream.on("data", (report: SidecarReport) => {
      if (refused) return;
      if ("hello" in report && report.hello !== undefined && (report.report === undefined || report.report === "hello")) {
        if (session !== undefined) run(hub.detach(session));
        session = undefined;
        const hello = report.hello;
        if (!mayActFor(principal.right, hello.server_id)) {
          refused = true;
          stream.emit("error", toServiceError(apiError(grpc.status.PERMISSION_DENIED, `this sidecar token is for another server than ${hello.server_id}`)));
          return;
        }
        session = {
          serverId: hello.server_id,
          replicaId: hello.replica_id,
          endpoint: hello.server_endpoint,
          send: (assignment) => {
            if (!stream.destroyed && stream.writable) stream.write(assignment);
          },
        };
        run(hub.attach(session));
        return;
      }
      // Reports before a Hello cannot be placed: the sidecar sends Hello first on every stream.
      if (session !== undefined) {
        const current = session;
        run(hub.report(current, report));
      }
    });
    const close = () => {
      if (session !== undefined) run(hub.detach(session));
      session = undefined;
    };
    stream.on("end", () => {
      close();
      if (!refused) stream.end();
    });
    stream.on("error", close);
    stream.on("cancelled", close);
  },
});
