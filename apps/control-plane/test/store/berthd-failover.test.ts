import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "@effect/vitest";
import { Context, Duration, Effect, Exit, Fiber, Logger, LogLevel, Queue, type Scope } from "effect";
import { createBerthClient, isServiceError, type BerthClient } from "@berth/api/berth";
import { GrpcServer } from "../../src/api/grpc-server.js";
import { loadConfig } from "../../src/config/load.js";
import { LeadershipLost, serveBerthd } from "../../src/leadership/serve.js";
import { LEADER_LOCK, schemaLockKey } from "../../src/store/postgres-driver.js";
import { Store } from "../../src/store/store.js";
import { freshSchema, testPostgresUrl, withAdmin } from "./postgres-env.js";

// Two whole berthd replicas (sim backend) on one real PostgreSQL: the leader loses its lock
// session (pg_terminate_backend, as an operator or a dropped connection would), stops serving at
// once, the standby takes over with everything acknowledged, and nothing is ever written under
// two leaders at a time.

const url = testPostgresUrl();

interface Term {
  readonly replica: string;
  readonly grpc: string;
}

const replicaConfig = (schema: string, replica: string, onLeadershipLost: "standby" | "exit") =>
  loadConfig({
    inline: {
      listen: "127.0.0.1:0",
      http: "127.0.0.1:0",
      stateDir: mkdtempSync(join(tmpdir(), `berthd-ha-${replica}-`)),
      store: { kind: "postgres", url, schema, replica, onLeadershipLost },
      backend: { kind: "sim", sim: { startup: "50ms", load: "50ms" } },
      nodes: [{ name: "n1", gpus: [{ model: "A10", memory: "8Gi" }] }],
    },
  });

/** Runs a replica in the background; each term it leads is announced on `terms`. */
const startReplica = (schema: string, replica: string, terms: Queue.Queue<Term>, onLeadershipLost: "standby" | "exit" = "standby") =>
  Effect.gen(function* () {
    const config = yield* replicaConfig(schema, replica, onLeadershipLost);
    return yield* serveBerthd(config, {
      onLead: (context) => Effect.flatMap(Store, (store) => (store.leadership.replica === replica ? Queue.offer(terms, { replica, grpc: Context.get(context, GrpcServer).address }) : Effect.void)).pipe(Effect.provide(context), Effect.asVoid),
    }).pipe(Effect.provide(Logger.minimumLogLevel(process.env.HA_DEBUG ? LogLevel.Debug : LogLevel.None)), Effect.forkScoped);
  });

const lockHolders = (schema: string) =>
  Effect.promise(() =>
    withAdmin(url, (c) =>
      c.query<{ pid: number; application_name: string }>(
        `SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2`,
        [LEADER_LOCK, schemaLockKey(schema) >>> 0],
      ),
    ),
  ).pipe(Effect.map((r) => r.rows));

const terminateLeaderSession = (schema: string) =>
  Effect.gen(function* () {
    const holders = yield* lockHolders(schema);
    expect(holders).toHaveLength(1);
    yield* Effect.promise(() => withAdmin(url, (c) => c.query(`SELECT pg_terminate_backend($1)`, [holders[0]!.pid])));
    return holders[0]!.application_name;
  });

const eventEpochs = (schema: string) =>
  Effect.promise(() => withAdmin(url, (c) => c.query<{ seq: number; epoch: string }>(`SELECT seq, epoch FROM ${schema}.events ORDER BY seq`))).pipe(
    Effect.map((r) => r.rows.map((row) => Number(row.epoch))),
  );

const client = (address: string): Effect.Effect<BerthClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => createBerthClient(address, { callTimeoutMs: 3000 })),
    (c) => Effect.sync(() => c.close()),
  );

const createLease = (c: BerthClient, name: string) =>
  Effect.promise(async () => {
    let phase = "";
    for await (const step of c.lease.create({ spec: { name, models: [{ name: "simple" }], resources: { gpuMemory: "1Gi" } }, wait: true })) phase = step.lease?.phase ?? phase;
    return phase;
  });

const codeOf = (call: () => Promise<unknown>) =>
  Effect.promise(() => call().then(() => "succeeded", (e: unknown) => (isServiceError(e) ? e.code : String(e))));

const nextTerm = (terms: Queue.Queue<Term>, ms: number, what: string) =>
  Queue.take(terms).pipe(Effect.timeoutFail({ duration: Duration.millis(ms), onTimeout: () => new Error(`${what} did not happen within ${ms} ms`) }));

describe("berthd failover on PostgreSQL", () => {
  it.scopedLive(
    "a leader that loses its lock steps down; the standby takes over without split brain; the old one leads again later",
    () =>
      Effect.gen(function* () {
        const schema = yield* freshSchema(url);
        const terms = yield* Queue.unbounded<Term>();
        const a = yield* startReplica(schema, "a", terms);
        const first = yield* nextTerm(terms, 20_000, "a leading");
        expect(first.replica).toBe("a");
        const viaA = yield* client(first.grpc);
        expect(yield* createLease(viaA, "before")).toBe("LEASE_PHASE_READY");

        const b = yield* startReplica(schema, "b", terms);
        yield* Effect.sleep("1500 millis"); // b polls and stands by
        expect(yield* Queue.size(terms)).toBe(0);

        expect(yield* terminateLeaderSession(schema)).toBe("berthd-leader:a");
        const second = yield* nextTerm(terms, 15_000, "b taking over");
        expect(second.replica).toBe("b");
        // a stopped serving: its API is closed (or refusing), never answering from a stale state.
        const staleRead = yield* codeOf(() => viaA.lease.get({ name: "before" }));
        expect(staleRead).toBe(grpc.status.UNAVAILABLE);

        const viaB = yield* client(second.grpc);
        expect((yield* Effect.promise(() => viaB.lease.get({ name: "before" }))).phase).toBe("LEASE_PHASE_READY");
        expect(yield* createLease(viaB, "after")).toBe("LEASE_PHASE_READY");
        expect((yield* lockHolders(schema)).map((h) => h.application_name)).toEqual(["berthd-leader:b"]);

        // Nothing written under two leaders: epochs never go back, and a's end before b's begin.
        const epochs = yield* eventEpochs(schema);
        expect(epochs.length).toBeGreaterThan(2);
        expect([...epochs].sort((x, y) => x - y)).toEqual(epochs);
        expect(new Set(epochs).size).toBe(2);

        // a stood by: when b goes, a leads again and serves everything both acknowledged.
        yield* Fiber.interrupt(b);
        const third = yield* nextTerm(terms, 15_000, "a leading again");
        expect(third.replica).toBe("a");
        const viaA2 = yield* client(third.grpc);
        const names = (yield* Effect.promise(() => viaA2.lease.list({}))).leases.map((l) => l.name).sort();
        expect(names).toEqual(["after", "before"]);
        yield* Fiber.interrupt(a);
      }),
    60_000,
  );

  it.scopedLive(
    "with onLeadershipLost: exit, a leader that loses its lock ends with LeadershipLost",
    () =>
      Effect.gen(function* () {
        const schema = yield* freshSchema(url);
        const terms = yield* Queue.unbounded<Term>();
        const a = yield* startReplica(schema, "a", terms, "exit");
        yield* nextTerm(terms, 20_000, "a leading");
        yield* terminateLeaderSession(schema);
        const exit = yield* Fiber.await(a).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("a did not exit") }));
        expect(Exit.isFailure(exit)).toBe(true);
        if (Exit.isFailure(exit)) expect(exit.cause.toString()).toContain("LeadershipLost");
        expect(LeadershipLost).toBeDefined();
      }),
    40_000,
  );
});
