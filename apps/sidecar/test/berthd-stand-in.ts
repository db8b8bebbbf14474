// A minimal berthd for tests: a real gRPC server implementing SidecarService. It records
// every report, answers each Hello with the current desired state and pushes every new one
// to the open streams, as berthd does. It is the sidecar's peer, not a mock of the sidecar.
import * as grpc from "@grpc/grpc-js";
import { loadSidecarGrpc, type AssignedLease, type Assignment, type SidecarReport, type SidecarServerStream } from "@berth/api/sidecar";

export class BerthdStandIn {
  readonly reports: SidecarReport[] = [];
  private readonly streams = new Set<SidecarServerStream>();
  private assignment: Assignment;

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    initial: Assignment,
  ) {
    this.assignment = initial;
  }

  static async start(port = 0, initial: Assignment = { generation: 0, leases: [] }): Promise<BerthdStandIn> {
    const server = new grpc.Server();
    let standIn: BerthdStandIn | undefined;
    server.addService(loadSidecarGrpc().service, {
      Connect: (stream: SidecarServerStream) => {
        standIn!.streams.add(stream);
        stream.on("data", (report: SidecarReport) => {
          standIn!.reports.push(report);
          if (report.report === "hello") stream.write(standIn!.assignment);
        });
        const drop = () => standIn!.streams.delete(stream);
        stream.on("end", () => {
          drop();
          stream.end();
        });
        stream.on("error", drop);
        stream.on("cancelled", drop);
      },
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    standIn = new BerthdStandIn(server, bound, initial);
    return standIn;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.streams.size;
  }

  /** Sends a new complete desired state (the next generation) to every connected sidecar. */
  assign(leases: readonly AssignedLease[]): Assignment {
    this.assignment = { generation: this.assignment.generation + 1, leases };
    for (const s of this.streams) s.write(this.assignment);
    return this.assignment;
  }

  /** Stops at once, breaking the streams, as a crashed berthd would. */
  stop(): void {
    for (const s of this.streams) s.destroy();
    this.server.forceShutdown();
  }
}

export const lease = (id: string, ...models: string[]): AssignedLease => ({
  lease_id: id,
  lease_name: `lease-${id}`,
  models: models.map((m) => {
    const [repository, name] = m.includes("/") ? m.split("/") : ["", m];
    return { repository, name, version: 0 };
  }),
});

/** Polls `find` until it returns something other than undefined. */
export async function eventually<T>(what: string, find: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
