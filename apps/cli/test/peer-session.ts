// One fake berthd per test file, and `berth` pointed at it: started once, its leases and recorded
// calls cleared before each test, closed after the file.
import { afterAll, beforeAll, beforeEach } from "vitest";
import { runCli } from "./harness.js";
import { startPeer, type Peer } from "./peer.js";

export interface PeerSession {
  readonly peer: Peer;
  readonly berth: (...argv: string[]) => ReturnType<typeof runCli>;
}

export function usePeer(): PeerSession {
  let peer: Peer | undefined;
  const started = (): Peer => {
    if (peer === undefined) throw new Error("the peer starts in beforeAll");
    return peer;
  };
  beforeAll(async () => {
    peer = await startPeer();
  });
  afterAll(() => peer?.close());
  beforeEach(() => {
    started().leases.clear();
    started().calls.length = 0;
  });
  return {
    get peer() {
      return started();
    },
    berth: (...argv) => runCli(argv, { BERTH_ADDRESS: started().address }),
  };
}
