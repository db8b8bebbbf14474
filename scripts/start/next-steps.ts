// What `npm start` prints once everything listens: where things are, and the commands to type
// next, with this run's addresses in them.
import type { RunningStack } from "./stack.js";

/** The demo inference: `simple` adds and subtracts two INT32 [1,16] tensors. */
export const DEMO_INPUT0 = Array.from({ length: 16 }, (_, i) => i + 1);
export const DEMO_INPUT1 = Array.from({ length: 16 }, () => 1);

export const demoInferBody = (): string =>
  JSON.stringify({
    inputs: [
      { name: "INPUT0", shape: [1, 16], datatype: "INT32", data: DEMO_INPUT0 },
      { name: "INPUT1", shape: [1, 16], datatype: "INT32", data: DEMO_INPUT1 },
    ],
  });

const hostFor = (host: string) => (host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host);

export function nextSteps(stack: RunningStack): string {
  const berthFlag = stack.berthd === "127.0.0.1:50051" ? "" : ` --address ${stack.berthd}`;
  const routerUrl = `${hostFor(stack.router.host)}:${stack.router.http}`;
  const sum = DEMO_INPUT0.map((x, i) => x + DEMO_INPUT1[i]!);
  const difference = DEMO_INPUT0.map((x, i) => x - DEMO_INPUT1[i]!);
  const repositories = stack.config.repositories.map((r) => `${r.name} (${r.kind === "dir" ? r.dir : r.url})`).join(", ");
  return `
Berth is running on this machine.
  berthd      gRPC ${stack.berthd}   health and metrics ${stack.berthdHttp}/healthz /readyz /metrics
  backend     ${stack.config.backend.kind}   state ${stack.config.stateDir}   log ${stack.logFile}
  router      KServe v2 HTTP ${routerUrl}${stack.router.grpc === null ? "" : `   gRPC ${hostFor(stack.router.host)}:${stack.router.grpc}`}
  models      ${repositories}

In another terminal:
  npx berth${berthFlag} lease create demo -m simple --wait
  curl -s -X POST ${routerUrl}/v2/models/simple/infer -d '${demoInferBody()}'
    -> OUTPUT0 (INPUT0 + INPUT1) = ${JSON.stringify(sum)}
       OUTPUT1 (INPUT0 - INPUT1) = ${JSON.stringify(difference)}
  npx berth${berthFlag} lease list -o json
  npx berth${berthFlag} lease release demo

Ctrl-C stops everything (berthd stops the servers it started).
`;
}
