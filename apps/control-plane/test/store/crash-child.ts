// A berthd stand-in for the crash-safety test: appends batches of events forever, snapshots and
// compacts now and then, and prints each acknowledged append on stdout. The test kill -9's it.
//   node --import tsx crash-child.ts sqlite <path> <round> <seed>
//   node --import tsx crash-child.ts postgres <url> <schema> <round> <seed>
import { Effect, Layer, Option } from "effect";
import { Store, type StoreError, type StoredEvent } from "../../src/store/index.js";
import { foldProbe, type ProbeState } from "./crash-probe.js";

const [dialect, ...rest] = process.argv.slice(2);
const layer: Layer.Layer<Store, StoreError> =
  dialect === "sqlite" ? Store.layerSqlite({ path: rest[0] }) : Store.layerPostgres({ url: rest[0], schema: rest[1], pollIntervalMs: 50, heartbeatIntervalMs: 200 });
const round = Number(rest[dialect === "sqlite" ? 1 : 2]);
let seed = Number(rest[dialect === "sqlite" ? 2 : 3]) >>> 0;
const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed / 2 ** 32);

const program = Effect.gen(function* () {
  const store = yield* Store;
  yield* store.leadership.awaitLeader;
  // Recover as berthd would: the newest snapshot, then the events after it.
  const recovery = yield* store.latest;
  let state: ProbeState = Option.match(recovery.snapshot, { onNone: () => ({ count: 0 }), onSome: (s) => s.state as ProbeState });
  state = recovery.events.reduce((s: ProbeState, e: StoredEvent) => foldProbe(s, e), state);
  process.stdout.write(`ready ${recovery.headSeq}\n`);
  for (let batch = 1; ; batch++) {
    const size = 1 + Math.floor(next() * 4);
    const events = Array.from({ length: size }, (_, index) => ({ type: "CrashProbe", at: batch, round, batch, index, size }));
    const { firstSeq, lastSeq } = yield* store.append(events, { idempotencyKey: `${round}/${batch}` });
    for (let seq = firstSeq; seq <= lastSeq; seq++) state = foldProbe(state, { seq });
    process.stdout.write(`ack ${firstSeq} ${lastSeq} ${round} ${batch}\n`);
    if (batch % 20 === 0) {
      yield* store.saveSnapshot(lastSeq, state);
      yield* store.compact({ keepTail: 5 });
    }
  }
});

Effect.runPromise(program.pipe(Effect.provide(layer))).catch((error: unknown) => {
  process.stderr.write(`crash-child: ${String(error)}\n`);
  process.exit(1);
});
