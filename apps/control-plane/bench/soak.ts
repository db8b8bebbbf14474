// The long version of test/external/crash.test.ts: many rounds of lease operations against a
// berthd child process (SQLite state), each ended by kill -9 at a seeded random moment and
// followed by a restart on the same state directory; after each restart every acknowledged
// operation is checked and convergence timed. Prints per-round lines and a summary (headline last).
// Run: npx tsx apps/control-plane/bench/soak.ts   (SOAK_ROUNDS=20 SOAK_WORKERS=8 SOAK_SEED=1
// SOAK_KILL_MIN_MS=500 SOAK_KILL_MAX_MS=5000)
import { runCrashRounds } from "../test/external/crash-workload.js";
import { quantile } from "./api-load.js";

const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 20);
const WORKERS = Number(process.env.SOAK_WORKERS ?? 8);
const SEED = Number(process.env.SOAK_SEED ?? 20261124);
const KILL: [number, number] = [Number(process.env.SOAK_KILL_MIN_MS ?? 500), Number(process.env.SOAK_KILL_MAX_MS ?? 5000)];

console.log(`soak: ${ROUNDS} rounds of ${WORKERS} clients (create/renew/release), kill -9 after ${KILL[0]}-${KILL[1]} ms, seed ${SEED}`);
const started = performance.now();
const report = await runCrashRounds({ seed: SEED, rounds: ROUNDS, workers: WORKERS, killAfterMs: KILL, snapshotEvery: 50, convergeTimeoutMs: 60_000, log: (line) => console.log(line) });

const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
const restart = sorted(report.rounds.map((r) => r.restartMs));
const converge = sorted(report.rounds.map((r) => r.convergeMs));
const firstList = sorted(report.rounds.map((r) => r.firstListMs));
const acked = report.rounds.reduce((n, r) => n + r.acknowledged.create + r.acknowledged.renew + r.acknowledged.release, 0);
const uncertain = report.rounds.reduce((n, r) => n + r.uncertain, 0);
const leases = report.rounds.at(-1)?.leasesChecked ?? 0;
for (const v of report.violations.slice(0, 20)) console.log(`VIOLATION ${v.length > 400 ? `${v.slice(0, 400)}...` : v}`);
// A round that did not converge in time lost nothing: its acknowledged operations were checked first.
const unconverged = report.violations.filter((v) => v.includes(": did not converge:")).length;
const lost = report.violations.filter((v) => !v.includes(": did not converge:"));
console.log(`restart (spawn to serving, recovery included): p50 ${quantile(restart, 0.5)} ms, max ${restart.at(-1)} ms; first List answered: p50 ${quantile(firstList, 0.5)} ms, max ${firstList.at(-1)} ms; converged after restart: p50 ${quantile(converge, 0.5)} ms, max ${converge.at(-1)} ms`);
console.log(
  `headline: ${report.rounds.length} kill -9s, ${acked} acknowledged lease operations (${uncertain} in flight at a kill), ${leases} leases checked after each restart, ` +
    `${lost.length} lost or rolled back, ${unconverged} not converged in time; ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
process.exitCode = report.violations.length === 0 ? 0 : 1;
