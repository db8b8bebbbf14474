// Leader election for berthd replicas with a coordination.k8s.io Lease on a real API server:
// one leader among concurrent candidates, a clean hand-over when the leader stops, and a
// take-over after expiry when the leader vanishes without releasing.
import { Effect, Exit, Scope, SubscriptionRef } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LeaderElection, type LeaderElectionOptions, runLeaderElection } from "../src/kubernetes/leader-election.js";
import { adminClient, cluster, deleteNamespace, freshNamespace, mustRun } from "./kubernetes-cluster.js";

const state = cluster();
const run = state.up || mustRun();

describe.runIf(run)("leader election on a real cluster", () => {
  if (!state.up) {
    it("has a cluster", () => {
      throw new Error(state.reason);
    });
    return;
  }
  const client = adminClient(state.kubeconfig);
  let namespace = "";
  beforeAll(async () => {
    namespace = await freshNamespace(client, "berth-leader");
  }, 60_000);
  afterAll(() => deleteNamespace(client, namespace));

  const start = async (identity: string, name: string, more: Partial<LeaderElectionOptions> = {}) => {
    const scope = await Effect.runPromise(Scope.make());
    const election = await Effect.runPromise(
      Scope.extend(runLeaderElection(client, { namespace, name, identity, leaseDurationSeconds: 3, retryPeriodMs: 300, ...more }), scope),
    );
    return { identity, scope, election };
  };
  const leading = (e: LeaderElection) => Effect.runPromise(SubscriptionRef.get(e.leading));
  const holder = async (name: string) => {
    const lease = await Effect.runPromise(client.get("coordination.k8s.io/v1", "Lease", namespace, name));
    return (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  };
  const waitFor = async (what: string, ok: () => Promise<boolean>, ms = 15_000) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (await ok()) return;
    throw new Error(`timed out waiting for ${what}`);
  };

  it("three concurrent candidates: exactly one leads, the Lease names it, and a released Lease passes on at once", async () => {
    const candidates = await Promise.all(["a", "b", "c"].map((id) => start(id, "berthd")));
    await waitFor("a leader", async () => (await Promise.all(candidates.map((c) => leading(c.election)))).some(Boolean));
    // Watch for overlap for a while: never two leaders at once.
    let leader = "";
    for (let i = 0; i < 20; i++) {
      const flags = await Promise.all(candidates.map((c) => leading(c.election)));
      expect(flags.filter(Boolean)).toHaveLength(1);
      leader = candidates[flags.indexOf(true)].identity;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await holder("berthd")).toBe(leader);
    const old = candidates.find((c) => c.identity === leader)!;
    const released = Date.now();
    await Effect.runPromise(Scope.close(old.scope, Exit.void));
    const rest = candidates.filter((c) => c !== old);
    await waitFor("a new leader", async () => (await Promise.all(rest.map((c) => leading(c.election)))).some(Boolean));
    // Released, not expired: the follower takes over well before the 3 s lease would run out.
    expect(Date.now() - released).toBeLessThan(2500);
    const next = await holder("berthd");
    expect(next).not.toBe(leader);
    expect(rest.map((c) => c.identity)).toContain(next);
    await Promise.all(rest.map((c) => Effect.runPromise(Scope.close(c.scope, Exit.void))));
  }, 60_000);

  it("a leader that vanishes without releasing is replaced after the lease expires, not before", async () => {
    const a = await start("a", "berthd-expiry", { releaseOnClose: false });
    await waitFor("a leads", () => leading(a.election));
    const b = await start("b", "berthd-expiry");
    await new Promise((r) => setTimeout(r, 1000));
    expect(await leading(b.election)).toBe(false);
    const gone = Date.now();
    await Effect.runPromise(Scope.close(a.scope, Exit.void));
    expect(await holder("berthd-expiry")).toBe("a");
    await waitFor("b leads", () => leading(b.election));
    const waited = Date.now() - gone;
    // b saw a's last renewal at most one retry period before a vanished; it must wait out the rest.
    expect(waited).toBeGreaterThanOrEqual(3000 - 300 - 300);
    expect(await holder("berthd-expiry")).toBe("b");
    const lease = await Effect.runPromise(client.get("coordination.k8s.io/v1", "Lease", namespace, "berthd-expiry"));
    expect((lease?.spec as { leaseTransitions: number }).leaseTransitions).toBe(1);
    await Effect.runPromise(Scope.close(b.scope, Exit.void));
  }, 60_000);
});

if (!run) {
  describe("leader election on a real cluster", () => {
    // Reason: outside CI, without a cluster (or kubectl) here, say so instead of failing; with CI=true the missing cluster fails the suite.
    it.skip(`skipped: ${state.up ? "" : state.reason}`, () => {});
  });
}
