import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { describe, expect, it } from "@effect/vitest";
import { Context, Effect, Either, Layer, Schedule, type Scope } from "effect";
import { isServiceError } from "@berth/api/berth";
import type { BackendShape } from "@berth/backends/backend";
import type { ServerSpec } from "@berth/backends/spec";
import { leaderGated } from "../../src/leadership/gated-backend.js";
import { soleLeader } from "../../src/store/leader-control.js";
import { Store, type StoreError } from "../../src/store/index.js";
import { startBerthd } from "../harness.js";
import { freshSchema, testPostgresUrl, withAdmin } from "./postgres-env.js";

// A leader that is deposed stops acting: its store notices a takeover without having to write
// (the heartbeat reads the epoch), its backend refuses to change servers, its API refuses calls
// naming the new leader, and its health says NOT_SERVING. Real PostgreSQL; the takeover is
// made the way another replica makes it (the epoch moves, the leader is recorded).

const url = testPostgresUrl();
const here = dirname(fileURLToPath(import.meta.url));
const timing = { pollIntervalMs: 50, heartbeatIntervalMs: 100, stepDownBackoffMs: 60_000 };

const replica = (schema: string, name: string): Effect.Effect<Store["Type"], StoreError, Scope.Scope> =>
  Effect.map(Layer.build(Store.layerPostgres({ url, schema, replica: name, ...timing })), (ctx) => Context.get(ctx, Store));

const takeOver = (schema: string, by: string) =>
  Effect.promise(() => withAdmin(url, (c) => c.query(`UPDATE ${schema}.store_head SET epoch = epoch + 1, leader = $1`, [by])));

const within = <A, E>(ms: number, what: string, effect: Effect.Effect<A, E>) =>
  Effect.timeoutFail(effect, { duration: `${ms} millis`, onTimeout: () => new Error(`${what} did not happen within ${ms} ms`) });

/** A backend that records what it was asked to do (the gate's subject, not a stand-in for a real one). */
const recordingBackend = (calls: string[]): BackendShape => ({
  name: "recording",
  capabilities: { gpus: false, images: "process", adoption: false, nodes: "one" },
  ensureServer: (spec: ServerSpec) => Effect.sync(() => (calls.push(`ensure ${spec.serverId}`), { serverId: spec.serverId, labels: {}, replicas: [] }) as never),
  scale: (serverId) => Effect.sync(() => (calls.push(`scale ${serverId}`), { serverId, labels: {}, replicas: [] }) as never),
  deleteServer: (serverId) => Effect.sync(() => void calls.push(`delete ${serverId}`)),
  list: () => Effect.sync(() => (calls.push("list"), [])),
  watch: () => {
    throw new Error("not used");
  },
});

describe("a deposed leader stops acting", () => {
  it.scopedLive("notices a takeover from its heartbeat, without writing, and names the new leader when refusing writes", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema(url);
      const a = yield* replica(schema, "a");
      yield* within(5000, "a leading", a.leadership.awaitLeader);
      yield* takeOver(schema, "b");
      yield* within(2000, "a stepping down", Effect.repeat(a.leadership.current, { until: (s) => s.role === "follower", schedule: Schedule.spaced("20 millis") }));
      const refused = yield* Effect.either(a.append([{ type: "E", at: 1 }]));
      expect(Either.isLeft(refused) && refused.left.reason).toBe("Fenced");
      if (Either.isLeft(refused)) expect(refused.left.message).toContain("the leader is b");
    }),
  );

  it.effect("the backend refuses to change servers once the replica does not lead; reads pass", () =>
    Effect.gen(function* () {
      const calls: string[] = [];
      const control = yield* soleLeader("a", 1);
      const gated = leaderGated(recordingBackend(calls), control.leadership);
      yield* gated.deleteServer("s-1");
      yield* control.deposed;
      const refused = yield* Effect.flip(gated.deleteServer("s-2"));
      expect(refused.reason._tag).toBe("Unavailable");
      expect(refused.message).toContain("replica a is not the leader");
      expect((yield* Effect.flip(gated.scale("s-1", 2))).reason._tag).toBe("Unavailable");
      yield* gated.list();
      expect(calls).toEqual(["delete s-1", "list"]);
    }),
  );

  it.scopedLive("its API answers UNAVAILABLE naming the leader, and its health says NOT_SERVING", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema(url);
      const berthd = yield* Effect.acquireRelease(
        Effect.promise(() => startBerthd({ config: { store: { kind: "postgres", url, schema, replica: "a" } } })),
        (b) => Effect.promise(() => b.stop()),
      );
      const client = berthd.client();
      const Health = grpc.loadPackageDefinition(
        protoLoader.loadSync("grpc/health/v1/health.proto", { includeDirs: [join(here, "..", "..", "proto")], keepCase: true, enums: String, defaults: true }),
      ) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
      const health = new Health.grpc.health.v1.Health(berthd.grpc, grpc.credentials.createInsecure()) as unknown as {
        Check(req: unknown, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
        close(): void;
      };
      yield* Effect.addFinalizer(() => Effect.sync(() => health.close()));
      const check = Effect.promise(() => new Promise<string>((resolve, reject) => health.Check({ service: "" }, (e, r) => (e ? reject(e) : resolve(r.status)))));
      expect(yield* check).toBe("SERVING");
      expect((yield* Effect.promise(() => client.allowlist.list())).images.length).toBeGreaterThan(0);

      yield* takeOver(schema, "b");
      // The default heartbeat is a second; the refusal follows it.
      const refusal = yield* within(
        5000,
        "a refusing calls",
        Effect.promise(() => client.allowlist.list().then(() => undefined, (e: unknown) => e)).pipe(
          Effect.flatMap((e) => (e === undefined ? Effect.fail("still serving") : Effect.succeed(e))),
          Effect.retry(Schedule.spaced("50 millis")),
        ),
      );
      expect(isServiceError(refusal) && refusal.code).toBe(grpc.status.UNAVAILABLE);
      expect(isServiceError(refusal) && refusal.details).toContain("replica a is not the leader (the leader is b)");
      expect(yield* check).toBe("NOT_SERVING");
    }),
  );
});
