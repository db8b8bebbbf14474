// Keep-alive TCP connections to one replica, for the relay (http-relay.ts): one request at a
// time per connection (no pipelining), most recently used first, idle ones closed after a while
// (before the replica closes them), and at most `max` open; beyond that requests wait in order.
// Answers are read through a shared buffer (`onread`) rather than 'data' events.
import net from "node:net";

/** Whoever holds a connection gets its bytes and its end. */
export interface UpstreamUser {
  onUpstreamData(chunk: Buffer): void;
  /** The connection is gone: `ended` when the replica closed it cleanly, else `error` says why. */
  onUpstreamLost(ended: boolean, error: (Error & { code?: string }) | undefined): void;
  /** A connection for a request that waited for one. */
  granted(conn: UpstreamConnection): void;
}

/**
 * Where every replica connection reads into (net's `onread`): no buffer allocated per read and
 * no readable-stream bookkeeping per chunk; reads run one at a time on the event loop, and each
 * is copied out before its callback returns.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class UpstreamConnection {
  readonly socket: net.Socket;
  user: UpstreamUser | undefined;
  /** The TCP connection was established: a failure after this may have reached the replica. */
  connected = false;
  /** It served a request before (a failure with nothing answered may be the replica's idle close). */
  reused = false;
  idleSince = 0;
  private lost = false;

  constructor(
    private readonly pool: UpstreamPool,
    host: string,
    port: number,
  ) {
    this.socket = net.connect({ host, port, noDelay: true, onread: { buffer: READ_BUFFER, callback: this.onRead } });
    this.socket.once("connect", () => (this.connected = true));
    this.socket.once("end", () => this.gone(true, undefined));
    this.socket.once("error", (e: Error) => this.gone(false, e));
    this.socket.once("close", () => this.gone(false, undefined));
  }

  /** Always true: the relay pauses the socket itself when the client is slow. */
  private readonly onRead = (nread: number, buffer: Uint8Array): boolean => {
    // The next read of any connection lands in the same buffer: the user gets its own copy.
    if (this.user !== undefined) this.user.onUpstreamData(Buffer.from(buffer.subarray(0, nread)));
    // Bytes nobody asked for: the replica and we disagree on framing, so the connection is done.
    else this.destroy();
    return true;
  };

  destroy(): void {
    this.user = undefined;
    this.socket.destroy();
    this.gone(false, undefined);
  }

  private gone(ended: boolean, error: Error | undefined): void {
    if (this.lost) return;
    this.lost = true;
    this.pool.forget(this);
    const user = this.user;
    this.user = undefined;
    if (!this.socket.destroyed) this.socket.destroy();
    user?.onUpstreamLost(ended, error);
  }
}

export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiting: UpstreamUser[] = [];
  private open = 0;
  private readonly host: string;
  private readonly port: number;

  constructor(
    address: string,
    private readonly max: number,
  ) {
    const colon = address.lastIndexOf(":");
    this.host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
    this.port = Number(address.slice(colon + 1));
  }

  /** An idle connection, or a new one; undefined when `max` are open (then `wait`). */
  acquire(): UpstreamConnection | undefined {
    const conn = this.idle.pop();
    if (conn !== undefined) return conn;
    return this.open < this.max ? this.connect() : undefined;
  }

  /** A new connection regardless of `max` (the retry of a request an idle connection lost). */
  connect(): UpstreamConnection {
    this.open++;
    return new UpstreamConnection(this, this.host, this.port);
  }

  wait(user: UpstreamUser): void {
    this.waiting.push(user);
  }

  unwait(user: UpstreamUser): void {
    const i = this.waiting.indexOf(user);
    if (i !== -1) this.waiting.splice(i, 1);
  }

  /** The request on `conn` is answered and the connection may carry another. */
  release(conn: UpstreamConnection, now: number): void {
    conn.user = undefined;
    conn.reused = true;
    const next = this.waiting.shift();
    if (next !== undefined) next.granted(conn);
    else {
      conn.idleSince = now;
      this.idle.push(conn);
    }
  }

  forget(conn: UpstreamConnection): void {
    this.open--;
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    // A slot opened: the first waiting request gets a new connection.
    const next = this.open < this.max ? this.waiting.shift() : undefined;
    if (next !== undefined) next.granted(this.connect());
  }

  /** Closes connections idle since before `before` (the oldest are at the bottom of the stack). */
  sweep(before: number): void {
    while (this.idle.length > 0 && this.idle[0].idleSince < before) this.idle[0].destroy();
  }

  destroy(): void {
    this.waiting.length = 0;
    for (const conn of [...this.idle]) conn.destroy();
  }
}
