import { Runtime, type Effect } from "effect";
import type { SidecarReport, SidecarServerStream } from "@berth/api/sidecar";
import type { SidecarHubShape, SidecarSession } from "../executor/sidecar-hub.js";

/**
 * berthd's end of SidecarService.Connect: the first report (Hello) names the server; from then
 * on the hub sends assignments down the stream and turns reports into events. Reports of one
 * stream are handled in order.
 */
export const makeSidecarHandlers = (hub: SidecarHubShape, runtime: Runtime.Runtime<never>) => ({
  Connect: (stream: SidecarServerStream) => {
    let session: SidecarSession | undefined;
    let chain: Promise<unknown> = Promise.resolve();
    const run = (effect: Effect.Effect<void>) => (chain = chain.then(() => Runtime.runPromise(runtime)(effect)).catch(() => undefined));
    stream.on("data", (report: SidecarReport) => {
      if ("hello" in report && report.hello !== undefined && (report.report === undefined || report.report === "hello")) {
        if (session !== undefined) run(hub.detach(session));
        const hello = report.hello;
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
      stream.end();
    });
    stream.on("error", close);
    stream.on("cancelled", close);
  },
});
