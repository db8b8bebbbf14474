// Crash safety from the outside: clients run lease operations (create, renew, release) against
// a berthd child process with its SQLite state, recording what berthd acknowledged; at a seeded
// random moment the process is killed with SIGKILL; a new berthd starts on the same state
// directory; then every acknowledged lease must be there in its last acknowledged state
// (released stays released, a renewal is not rolled back), nothing unasked-for appears, and
// the system converges (live leases Ready, released ones Released, servers Ready).
// Used by crash.test.ts (a few rounds) and bench/soak.ts (many, with figures).
import { rmSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { rngFromSeed, type Rng } from "@berth/core";
import { isServiceError, timestampToMs, type BerthClient, type Lease, type LeasePhaseName } from "@berth/api/berth";
import { collect, SIM_CONFIG, spawnBerthd, tempDir, type BerthdProcess } from "./berthd-process.js";

export interface CrashOptions {
  readonly seed: number;
  readonly rounds: number;
  /** Clients issuing operations concurrently. */
  readonly workers: number;
  /** The kill comes this long (uniform in [min, max) ms) after the round's `minAckedBeforeKill`-th acknowledged operation. */
  readonly killAfterMs: readonly [number, number];
  /** Acknowledged operations each round waits for before its kill delay starts (default 5). */
  readonly minAckedBeforeKill?: number;
  /** A snapshot every N events, so that recovery reads a snapshot and replays a tail. */
  readonly snapshotEvery?: number;
  readonly convergeTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Leave the state directory behind (to look at it); removed by default, also on failure. */
  readonly keepState?: boolean;
}

export interface RoundFigures {
  readonly round: number;
  readonly killedAfterMs: number;
  readonly acknowledged: { readonly create: number; readonly renew: number; readonly release: number };
  /** Calls in flight at the kill (their outcome is unknown to the client). */
  readonly uncertain: number;
  /** From spawning the new berthd to its API serving (recovery included). */
  readonly restartMs: number;
  /** From the API serving to the first List answered (the whole state, checked). */
  readonly firstListMs: number;
  /** From the API serving to every lease converged. */
  readonly convergeMs: number;
  readonly leasesChecked: number;
}

export interface CrashReport {
  readonly rounds: readonly RoundFigures[];
  /** Every way berthd broke a promise (empty when it kept them all). */
  readonly violations: readonly string[];
  readonly stateDir: string;
}

type State = "live" | "released" | "maybe-live" | "maybe-released" | "absent";
interface Tracked {
  readonly name: string;
  id?: string;
  state: State;
  /** The newest heldUntil an acknowledged renewal returned (ms). */
  heldUntil?: number;
  busy: boolean;
}

const spec = (name: string) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "64Mi" }, minDuration: "2h" });

const crashConfig = (snapshotEvery: number) => ({
  ...SIM_CONFIG,
  store: { kind: "sqlite", snapshotEvery },
  // Room for thousands of bespoke servers (each takes CPU and memory of its node as well as GPU memory).
  nodes: [{ name: "n1", cpu: "10000", memory: "64Ti", gpus: [{ model: "A10", memory: "256Gi" }, { model: "A10", memory: "256Gi" }] }],
});

const TRANSITIONAL: readonly LeasePhaseName[] = ["LEASE_PHASE_PENDING", "LEASE_PHASE_PLACING", "LEASE_PHASE_LOADING"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One round's client load until `stop()`; returns how many operations berthd acknowledged. */
const runClients = (client: BerthClient, tracked: Map<string, Tracked>, rng: Rng, round: number, workers: number, minAcked: number, violations: string[]) => {
  let stopping = false;
  let killing = false;
  const acknowledged = { create: 0, renew: 0, release: 0 };
  let uncertain = 0;
  let counter = 0;
  let total = 0;
  let reachedTarget!: () => void;
  const reached = new Promise<void>((resolve) => (reachedTarget = resolve));
  const acked = () => {
    if (++total >= minAcked) reachedTarget();
  };
  /** A failure during the kill is an unknown outcome; any other failure is berthd breaking a promise. */
  const failed = (what: string, error: unknown): boolean => {
    if (killing || (isServiceError(error) && error.code === grpc.status.UNAVAILABLE)) {
      uncertain++;
      return true;
    }
    violations.push(`round ${round}: ${what} failed while berthd was up: ${isServiceError(error) ? `${grpc.status[error.code]} ${error.details}` : String(error)}`);
    return false;
  };
  const pickLive = (): Tracked | undefined => {
    const live = [...tracked.values()].filter((t) => t.state === "live" && !t.busy);
    return live.length === 0 ? undefined : live[rng.int(live.length)];
  };
  const worker = async (w: number) => {
    while (!stopping) {
      const roll = rng.next();
      const target = roll < 0.5 ? undefined : pickLive();
      if (target === undefined) {
        const name = `r${round}-w${w}-${counter++}`;
        const entry: Tracked = { name, state: "maybe-live", busy: true };
        tracked.set(name, entry);
        try {
          const progress = await collect(client.lease.create({ spec: spec(name) }));
          entry.id = progress[0]?.lease?.id;
          entry.state = "live";
          acknowledged.create++;
          acked();
        } catch (error) {
          if (!failed(`create ${name}`, error)) entry.state = "absent";
        }
        entry.busy = false;
      } else if (roll < 0.8) {
        target.busy = true;
        try {
          const lease = await client.lease.renew({ name: target.name, extendBy: "3h" });
          target.heldUntil = timestampToMs(lease.heldUntil);
          acknowledged.renew++;
          acked();
        } catch (error) {
          failed(`renew ${target.name}`, error);
        }
        target.busy = false;
      } else {
        target.busy = true;
        target.state = "maybe-released";
        try {
          const lease = await client.lease.release({ name: target.name });
          if (lease.phase !== "LEASE_PHASE_RELEASED") violations.push(`round ${round}: release ${target.name} answered ${lease.phase}`);
          target.state = "released";
          acknowledged.release++;
          acked();
        } catch (error) {
          if (!failed(`release ${target.name}`, error)) target.state = "live";
        }
        target.busy = false;
      }
    }
  };
  const running = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return {
    acknowledged,
    /** Resolves when berthd has acknowledged `minAcked` operations in this round. */
    reached,
    uncertain: () => uncertain,
    // No new calls from here: a call on the closed channel fails at once, and a loop of those would starve the event loop.
    killing: () => {
      killing = true;
      stopping = true;
    },
    stop: async () => {
      stopping = true;
      await running;
    },
  };
};

/** After a restart: every promise kept? Settles the uncertain entries to what berthd says. */
const check = (leases: readonly Lease[], tracked: Map<string, Tracked>, round: number, violations: string[]) => {
  const byId = new Map(leases.map((l) => [l.id, l]));
  const byName = new Map<string, Lease[]>();
  for (const l of leases) byName.set(l.name, [...(byName.get(l.name) ?? []), l]);
  for (const l of leases) if (!tracked.has(l.name)) violations.push(`round ${round}: lease ${l.name} (${l.id}) appeared that no client asked for`);
  for (const t of tracked.values()) {
    const found = t.id !== undefined ? byId.get(t.id) : byName.get(t.name)?.[0];
    if ((byName.get(t.name)?.length ?? 0) > 1) violations.push(`round ${round}: ${byName.get(t.name)!.length} leases named ${t.name}`);
    switch (t.state) {
      case "live":
        if (found === undefined) violations.push(`round ${round}: acknowledged lease ${t.name} (${t.id}) is lost`);
        else if (found.phase === "LEASE_PHASE_RELEASED" || found.phase === "LEASE_PHASE_FAILED") violations.push(`round ${round}: live lease ${t.name} came back ${found.phase}`);
        else if (t.heldUntil !== undefined && (timestampToMs(found.heldUntil) ?? 0) < t.heldUntil - 1000)
          violations.push(`round ${round}: renewal of ${t.name} rolled back (held until ${timestampToMs(found.heldUntil)} < acknowledged ${t.heldUntil})`);
        break;
      case "released":
        if (found === undefined) violations.push(`round ${round}: released lease ${t.name} (${t.id}) is lost`);
        else if (found.phase !== "LEASE_PHASE_RELEASED") violations.push(`round ${round}: released lease ${t.name} came back ${found.phase}`);
        break;
      case "maybe-live":
        // A create in flight at the kill: either outcome is correct; from now on it is what berthd says.
        if (found === undefined) t.state = "absent";
        else {
          t.id = found.id;
          t.state = found.phase === "LEASE_PHASE_RELEASED" ? "released" : "live";
        }
        break;
      case "maybe-released":
        if (found === undefined) violations.push(`round ${round}: acknowledged lease ${t.name} (${t.id}) is lost`);
        else t.state = found.phase === "LEASE_PHASE_RELEASED" ? "released" : "live";
        break;
      case "absent":
        // A refused Create may leave its lease on record as Failed (what was decided is kept), never live.
        if (found !== undefined && found.phase !== "LEASE_PHASE_FAILED") violations.push(`round ${round}: create of ${t.name} was refused but the lease is ${found.phase}`);
    }
  }
};

/** Every live lease Ready, every released one Released, nothing in between, every server Ready. */
const converged = async (client: BerthClient, tracked: Map<string, Tracked>): Promise<boolean> => {
  // Cheap first: while leases are still on their way, only those come back. (Listing every one
  // of thousands of leases each poll kept berthd busy building views instead of converging.)
  if ((await client.lease.list({ phases: [...TRANSITIONAL], pageSize: 1 })).leases.length > 0) return false;
  const { leases } = await client.lease.list({});
  const byId = new Map(leases.map((l) => [l.id, l]));
  for (const t of tracked.values()) {
    const lease = t.id === undefined ? undefined : byId.get(t.id);
    if (t.state === "live" && lease?.phase !== "LEASE_PHASE_READY") return false;
    if (t.state === "released" && lease?.phase !== "LEASE_PHASE_RELEASED") return false;
  }
  if (leases.some((l) => TRANSITIONAL.includes(l.phase))) return false;
  const { servers } = await client.server.list();
  return servers.every((s) => s.state === "Ready");
};

export async function runCrashRounds(options: CrashOptions): Promise<CrashReport> {
  const rng = rngFromSeed(options.seed);
  const stateDir = tempDir("crash");
  const config = crashConfig(options.snapshotEvery ?? 25);
  const tracked = new Map<string, Tracked>();
  const violations: string[] = [];
  const rounds: RoundFigures[] = [];
  const log = options.log ?? (() => undefined);
  let berthd: BerthdProcess = await spawnBerthd({ stateDir, config });
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const client = berthd.client({ callTimeoutMs: 10_000 });
      const clients = runClients(client, tracked, rng, round, options.workers, options.minAckedBeforeKill ?? 5, violations);
      const [min, max] = options.killAfterMs;
      const killedAfterMs = Math.round(min + rng.next() * (max - min));
      // The kill must land in real work, however slow the machine: its delay counts from the
      // round's `minAckedBeforeKill`-th acknowledgement.
      await Promise.race([clients.reached, sleep(60_000)]);
      await sleep(killedAfterMs);
      clients.killing();
      await berthd.kill();
      await clients.stop();

      const t0 = performance.now();
      berthd = await spawnBerthd({ stateDir, config });
      const restartMs = performance.now() - t0;
      // Right after start-up the executor re-creates every server the sim backend lost with the
      // process, so the first answers can be slow: a generous deadline, and the wait is a figure.
      const after = berthd.client({ callTimeoutMs: 60_000 });
      const t1 = performance.now();
      check((await after.lease.list({})).leases, tracked, round, violations);
      const firstListMs = performance.now() - t1;
      const deadline = t1 + (options.convergeTimeoutMs ?? 20_000);
      while (!(await converged(after, tracked).catch(() => false))) {
        if (performance.now() > deadline) {
          const { leases } = await after.lease.list({});
          violations.push(`round ${round}: did not converge: ${leases.filter((l) => TRANSITIONAL.includes(l.phase)).map((l) => `${l.name}=${l.phase}`).join(", ") || "servers not Ready"}`);
          break;
        }
        await sleep(25);
      }
      const figures: RoundFigures = {
        round,
        killedAfterMs,
        acknowledged: { ...clients.acknowledged },
        uncertain: clients.uncertain(),
        restartMs: Math.round(restartMs),
        firstListMs: Math.round(firstListMs),
        convergeMs: Math.round(performance.now() - t1),
        leasesChecked: [...tracked.values()].filter((t) => t.state !== "absent").length,
      };
      rounds.push(figures);
      log(`round ${round}: killed after ${killedAfterMs} ms; acked ${JSON.stringify(figures.acknowledged)}, ${figures.uncertain} uncertain; restart ${figures.restartMs} ms, first List after ${figures.firstListMs} ms, converged in ${figures.convergeMs} ms; ${figures.leasesChecked} leases checked; violations so far ${violations.length}`);
    }
  } finally {
    await berthd.stop();
    if (options.keepState !== true) rmSync(stateDir, { recursive: true, force: true });
  }
  return { rounds, violations, stateDir };
}
