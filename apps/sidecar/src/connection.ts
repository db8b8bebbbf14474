// The sidecar's stream to berthd (SidecarService.Connect). A session opens the stream, says
// Hello, hands every Assignment to the reconciler and lets it resend its statuses; it ends
// when the stream breaks. Sessions repeat forever: one that never got an answer from berthd
// fails and is retried on berthdReconnectSchedule (capped exponential backoff); one that was
// established and then ended (berthd restarted) is followed at once by a fresh attempt whose
// backoff starts again from the base.
import * as grpc from "@grpc/grpc-js";
import { Data, Duration, Effect, Schedule } from "effect";
import { loadSidecarGrpc, type Assignment, type Hello, type SidecarClientStream, type SidecarReport } from "@berth/api/sidecar";
import type { SidecarCredentials } from "./flags.js";
import type { Log } from "./log.js";

export class BerthdUnavailable extends Data.TaggedError("BerthdUnavailable")<{ readonly message: string }> {}

/** Reconnect backoff: base, doubling, never longer than cap, forever. */
export const berthdReconnectSchedule = (base: Duration.DurationInput = "100 millis", cap: Duration.DurationInput = "5 seconds") =>
  Schedule.exponential(base, 2).pipe(Schedule.union(Schedule.spaced(cap)));

export interface ConnectionHandlers {
  hello(): Promise<Hello>;
  onAssignment(assignment: Assignment): void;
  /** The stream is open and the Hello is sent: time to resend every status. */
  onConnected(): void;
}

/**
 * Opens a Connect stream: TLS when a CA is given (berthd's certificate must chain to it), the
 * token as `authorization: Bearer` metadata on the call.
 */
export function openBerthdStream(address: string, credentials: SidecarCredentials = {}): { readonly client: grpc.Client; readonly stream: SidecarClientStream } {
  const { Client } = loadSidecarGrpc();
  const channel = credentials.berthdCa === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(credentials.berthdCa));
  const options: grpc.ChannelOptions = credentials.berthdServerName === undefined ? {} : { "grpc.ssl_target_name_override": credentials.berthdServerName, "grpc.default_authority": credentials.berthdServerName };
  const client = new Client(address, channel, options) as unknown as grpc.Client & { Connect(metadata: grpc.Metadata): SidecarClientStream };
  const metadata = new grpc.Metadata();
  if (credentials.token !== undefined) metadata.set("authorization", `Bearer ${credentials.token}`);
  return { client, stream: client.Connect(metadata) };
}

export class BerthdConnection {
  private stream: SidecarClientStream | undefined;

  constructor(
    readonly address: string,
    private readonly handlers: ConnectionHandlers,
    private readonly log: Log,
    private readonly credentials: SidecarCredentials = {},
  ) {}

  get connected(): boolean {
    return this.stream !== undefined;
  }

  /** Sends on the open stream; false (dropped) when there is none: statuses are resent on reconnect. */
  send(report: SidecarReport): boolean {
    if (this.stream === undefined) return false;
    this.stream.write(report);
    return true;
  }

  /** One stream's life: succeeds when an established stream ends, fails when berthd never answered. */
  readonly session: Effect.Effect<void, BerthdUnavailable> = Effect.async<void, BerthdUnavailable>((resume) => {
    const { client, stream } = openBerthdStream(this.address, this.credentials);
    let established = false;
    let done = false;
    const finish = (why: string) => {
      if (done) return;
      done = true;
      if (this.stream === stream) this.stream = undefined;
      stream.removeAllListeners();
      stream.on("error", () => undefined);
      stream.cancel();
      client.close();
      this.log("sidecar.berthd-disconnected", { address: this.address, established, reason: why });
      resume(established ? Effect.void : Effect.fail(new BerthdUnavailable({ message: `berthd at ${this.address}: ${why}` })));
    };
    const establish = () => {
      if (established) return;
      established = true;
      this.log("sidecar.berthd-connected", { address: this.address });
    };
    stream.on("metadata", establish);
    stream.on("data", (assignment: Assignment) => {
      establish();
      this.handlers.onAssignment(assignment);
    });
    stream.on("error", (e: Error) => finish(e.message));
    stream.on("end", () => finish("stream ended"));
    this.handlers
      .hello()
      .then((hello) => {
        if (done) return;
        stream.write({ hello });
        this.stream = stream;
        this.handlers.onConnected();
      })
      .catch((e: unknown) => finish(`hello: ${(e as Error).message}`));
    return Effect.sync(() => finish("stopped"));
  });

  /** Keeps a session open for as long as the fiber runs. */
  run(schedule = berthdReconnectSchedule()): Effect.Effect<never> {
    return this.session.pipe(Effect.retry(schedule), Effect.orDie, Effect.forever);
  }
}
